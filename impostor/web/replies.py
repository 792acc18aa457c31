"""Reply shapes both apps share, as pydantic models so ``/api/docs`` documents them."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["CatalogueReply"]


class CatalogueReply(BaseModel):
    """A page's text in one language: what ``impostorKit.catalogue`` (kit.js) loads."""

    language: str = Field(description="The language of the messages, negotiated or asked for.")
    languages: list[str] = Field(description="Every language the server has a catalogue for.")
    messages: dict[str, str] = Field(description="Key → text, with {name} placeholders.")
