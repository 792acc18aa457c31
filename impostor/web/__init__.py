"""The web kit: what the station's and the practice server's apps share, below both of them.

    asgi       bodies refused before they are read whole; requests in flight per address
    listen     serving an app: TLS or a loud opt-out beyond loopback, uvicorn's missing limits
    gate       who is calling, decided from the headers before the body is read
    refusal    the one refusal exception, and the one handler that words it in an app's form
    limits     rates per caller, in memory that stays bounded
    sessions   signed-in sessions behind random tokens, in memory, ended when idle
    forms      uploads parsed in memory, per route (a traveller's photo never on disk)
    pages      the page and its files, the shared script and style (/kit/), the OpenAPI page,
               the security headers
    replies    reply models both apps share
    static/    kit.js (the catalogue's text, the language switch) and kit.css (the base style)

It imports only the foundation (``impostor.errors``); the apps (``impostor.station``,
``impostor.practice``) are built on it, never the other way.
"""
