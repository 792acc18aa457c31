"""The practice web app over real HTTP: sign-in, items, answers, feedback, score, and the key kept back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from impostor.practice.build import build_set
from impostor.practice.classroom import Classroom
from impostor.practice.scoring import score_trials
from impostor.practice.server import IMAGE_SIDE, PIN_FAILURES, SIGN_IN_FAILURES, create_app
from impostor.practice.sets import ImageRef, Item, PracticeSet
from impostor.practice.store import PracticeStore
from impostor.qa.cache import EmbeddingCache, file_digest
from tests.servers import running


@pytest.fixture(scope="module")
def ten(faces_dev: Path, embedding_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> PracticeSet:
    folder = tmp_path_factory.mktemp("set")
    cache = EmbeddingCache(embedding_cache)
    return build_set(faces_dev, folder / "ten.json", items=10, seed=5, cache=cache, progress=False, workers=1)


@pytest.fixture
def practice(ten: PracticeSet, tmp_path: Path) -> Iterator[tuple[str, PracticeStore]]:
    store = PracticeStore(tmp_path / "practice.db")
    with running(create_app(ten, store, "practice")) as url:
        yield url, store


@pytest.fixture
def test_mode(ten: PracticeSet, tmp_path: Path) -> Iterator[tuple[str, PracticeStore]]:
    store = PracticeStore(tmp_path / "test.db")
    with running(create_app(ten, store, "test")) as url:
        yield url, store


def truth_words(text: str) -> list[str]:
    """Anything in a reply that could give an item's answer away."""
    data = json.loads(text)
    found: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        if (
            key in {"same", "correct", "probability", "algorithm", "person", "feedback", "path", "sha256"}
            and value
        ):
            found.append(key)

    walk(data)
    return found


def sign_in(client: httpx.Client, trainee: str = "OFC-0042") -> dict[str, object]:
    reply = client.post("/api/sessions", json={"trainee": trainee, "language": "es"})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_the_api_never_gives_an_answer_away_before_it_is_recorded(
    practice: tuple[str, PracticeStore], ten: PracticeSet
) -> None:
    url, store = practice
    people = {image.person for item in ten.items for image in (item.left, item.right)}
    with httpx.Client(base_url=url) as client:
        page = client.get("/").text
        assert not any(person in page for person in people)
        assert truth_words(client.get("/api/set").text) == []
        session = sign_in(client)
        token = session["session"]
        for position in range(10):
            reply = client.get(f"/api/sessions/{token}/item")
            assert truth_words(reply.text) == [], reply.text
            assert not any(person in reply.text for person in people)
            current = reply.json()
            assert current["position"] == position
            # the next item's pictures and the score stay closed until this answer is in
            assert client.get(f"/api/sessions/{token}/items/{position + 1}/left").status_code in (403, 422)
            assert client.get(f"/api/sessions/{token}/score").json() == {"error": "not_finished"}
            picture = client.get(current["left"])
            assert picture.headers["content-type"] == "image/jpeg"
            pixels = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
            assert pixels is not None and max(pixels.shape[:2]) <= IMAGE_SIDE
            answer = client.post(
                f"/api/sessions/{token}/answers",
                json={"position": position, "said_same": True, "confidence": 3, "milliseconds": 1500},
            )
            assert answer.status_code == 200, answer.text
            # practice mode: the truth arrives with the reply to the answer, and matches the key
            stored = store.answers(str(token))[-1]
            assert answer.json()["feedback"]["same"] == stored.same
        assert client.get(f"/api/sessions/{token}/item").json() == {"done": True, "total": 10}


def test_test_mode_says_nothing_until_the_end_and_the_score_matches_the_database(
    test_mode: tuple[str, PracticeStore], ten: PracticeSet
) -> None:
    url, store = test_mode
    with httpx.Client(base_url=url) as client:
        token = sign_in(client)["session"]
        assert client.get("/api/set").json()["mode"] == "test"
        for position in range(10):
            reply = client.post(
                f"/api/sessions/{token}/answers",
                json={
                    "position": position,
                    "said_same": position % 3 == 0,
                    "confidence": 1 + position % 5,
                    "milliseconds": 800 + 100 * position,
                },
            )
            assert reply.status_code == 200
            assert reply.json()["feedback"] is None and truth_words(reply.text) == []
        score = client.get(f"/api/sessions/{token}/score").json()
        # the score, but not the answer key, until the trainer releases it for this set
        assert score["key_released"] is False and score["items"] is None
        assert store.release(ten.id) and not store.release(ten.id)
        released = client.get(f"/api/sessions/{token}/score").json()
    answers = store.answers(str(token))
    assert [a.seconds for a in answers] == pytest.approx([0.8 + 0.1 * k for k in range(10)])
    expected = score_trials([a.trial() for a in answers]).to_dict()
    assert score["score"] == json.loads(json.dumps(expected))
    assert released["key_released"] is True
    assert [item["same"] for item in released["items"]] == [a.same for a in answers]
    assert {norm["key"] for norm in score["norms"]} == {"gfmt_short", "gfmt_long", "passport_officers"}


def test_signing_in_again_resumes_where_the_trainee_stopped(practice: tuple[str, PracticeStore]) -> None:
    url, _ = practice
    with httpx.Client(base_url=url) as client:
        first = sign_in(client, "OFC-7")
        for position in range(3):
            client.post(
                f"/api/sessions/{first['session']}/answers",
                json={"position": position, "said_same": False, "confidence": 4, "milliseconds": 900},
            )
    with httpx.Client(base_url=url) as another_browser:
        again = sign_in(another_browser, "OFC-7")
        assert again["resumed"] is True and again["answered"] == 3 and again["session"] == first["session"]
        assert another_browser.get(f"/api/sessions/{again['session']}/item").json()["position"] == 3


def test_bad_requests_get_their_codes(practice: tuple[str, PracticeStore]) -> None:
    url, store = practice
    with httpx.Client(base_url=url) as client:
        for trainee in ("", "x" * 41, "OFC 1", "<script>"):
            reply = client.post("/api/sessions", json={"trainee": trainee})
            assert reply.status_code == 422 and reply.json() == {"error": "bad_trainee"}
        assert client.post("/api/sessions", json={}).json() == {"error": "bad_trainee"}
        token = sign_in(client)["session"]
        answers = f"/api/sessions/{token}/answers"
        good = {"position": 0, "said_same": True, "confidence": 3, "milliseconds": 1000}
        assert client.post(answers, json={**good, "confidence": 9}).json() == {"error": "bad_answer"}
        assert client.post(answers, json={**good, "milliseconds": -5}).json() == {"error": "bad_answer"}
        assert client.post(answers, json={"position": 0}).json() == {"error": "bad_answer"}
        assert client.post(answers, json={**good, "position": 4}).json() == {"error": "not_current"}
        assert client.post(answers, json=good).status_code == 200
        assert client.post(answers, json=good).json() == {"error": "already_answered"}
        assert len(store.answers(str(token))) == 1
        assert client.get("/api/sessions/nobody/item").json() == {"error": "unknown_session"}
        assert client.get("/api/nothing-here").json() == {"error": "not_found"}
        # a bad position is not a bad trainee, a wrong method not a server fault
        reply = client.get(f"/api/sessions/{token}/items/first/left")
        assert reply.status_code == 422 and reply.json() == {"error": "bad_position"}
        reply = client.delete("/api/sessions")
        assert reply.status_code == 405 and reply.json() == {"error": "bad_request"}


def test_a_large_body_is_refused_before_it_is_read(practice: tuple[str, PracticeStore]) -> None:
    url, _ = practice
    with httpx.Client(base_url=url) as client:
        declared = client.post("/api/sessions", content=b"{" + b" " * 100_000 + b"}")
        assert declared.status_code == 413 and declared.json() == {"error": "too_large"}

        def stream() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(100):
                yield b" " * 10_000

        chunked = client.post("/api/sessions", content=stream())
        assert chunked.status_code == 413 and chunked.json() == {"error": "too_large"}


def test_the_catalogue_follows_the_browser_and_the_switch(practice: tuple[str, PracticeStore]) -> None:
    url, _ = practice
    with httpx.Client(base_url=url) as client:
        spanish = client.get("/api/catalogue", headers={"Accept-Language": "es-PE,es;q=0.9,en;q=0.8"}).json()
        assert spanish["language"] == "es" and spanish["languages"] == ["en", "es"]
        switched = client.get("/api/catalogue?lang=en", headers={"Accept-Language": "es-PE"}).json()
        assert switched["language"] == "en"
        assert spanish["messages"].keys() == switched["messages"].keys()
        assert spanish["messages"] != switched["messages"]


def test_an_image_lost_while_serving_is_a_server_error_not_a_crash(
    grace_hopper: np.ndarray, tmp_path: Path
) -> None:
    refs = []
    for person, shade in (("Ana", 0), ("Ana", 40), ("Luis", 80)):
        file = tmp_path / person / f"{shade}.jpg"
        file.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(file), cv2.add(grace_hopper, shade))
        refs.append(ImageRef(f"{person}/{file.name}", file_digest(file), person))
    items = (
        Item("item-001", refs[0], refs[1], True, 0.3, 0.99),
        Item("item-002", refs[2], refs[0], False, 0.7, 0.1),
    )
    drill = PracticeSet("drill", items, {}, tmp_path)
    store = PracticeStore(tmp_path / "practice.db")
    with running(create_app(drill, store, "practice")) as url, httpx.Client(base_url=url) as client:
        for file in tmp_path.glob("*/*.jpg"):
            file.unlink()
        token = sign_in(client)["session"]
        reply = client.get(f"/api/sessions/{token}/items/0/left")
        assert reply.status_code == 500 and reply.json() == {"error": "server"}
        answer = {"position": 0, "said_same": True, "confidence": 2, "milliseconds": 700}
        assert client.post(f"/api/sessions/{token}/answers", json=answer).status_code == 200


def test_once_there_is_a_roster_an_id_alone_does_not_sign_in(
    practice: tuple[str, PracticeStore], ten: PracticeSet
) -> None:
    url, store = practice
    classroom = Classroom(store)
    codes = classroom.add(["OFC-1"], "A") | classroom.add(["OFC-2"], "B")
    with httpx.Client(base_url=url) as client:
        assert client.get("/api/set").json()["codes"] is True
        refused = client.post("/api/sessions", json={"trainee": "OFC-1"})
        assert refused.status_code == 401 and refused.json() == {"error": "wrong_code"}
        borrowed = client.post("/api/sessions", json={"trainee": "OFC-1", "code": codes["OFC-2"]})
        assert borrowed.status_code == 401
        typed = codes["OFC-1"].lower().replace("-", "")
        admitted = client.post("/api/sessions", json={"trainee": "OFC-1", "code": typed})
        assert admitted.status_code == 200 and admitted.json()["trainee"] == "OFC-1"
        classroom.assign(ten.id, ten.name, ["A"])
        other = client.post("/api/sessions", json={"trainee": "OFC-2", "code": codes["OFC-2"]})
        assert other.status_code == 403 and other.json() == {"error": "not_assigned"}
        # guessing: wrong codes from one address are cut off after SIGN_IN_FAILURES a minute
        for _ in range(SIGN_IN_FAILURES - 2):
            assert (
                client.post("/api/sessions", json={"trainee": "OFC-1", "code": "AAAA-AAAA"}).status_code
                == 401
            )
        stopped = client.post("/api/sessions", json={"trainee": "OFC-1", "code": codes["OFC-1"]})
        assert stopped.status_code == 429 and stopped.json() == {"error": "too_many_attempts"}
        assert int(stopped.headers["retry-after"]) >= 1


def test_the_live_view_is_behind_the_trainer_pin(
    practice: tuple[str, PracticeStore], ten: PracticeSet
) -> None:
    url, store = practice
    classroom = Classroom(store)
    codes = classroom.add(["OFC-1", "OFC-2"], "A")
    with httpx.Client(base_url=url) as client:
        assert client.post("/api/trainer/sign-in", json={"pin": "482913"}).json() == {
            "error": "no_trainer_pin"
        }
        classroom.set_pin("482913")
        wrong = client.post("/api/trainer/sign-in", json={"pin": "000000"})
        assert wrong.status_code == 401 and wrong.json() == {"error": "wrong_pin"}
        assert client.get("/api/trainer/live").status_code == 401
        forged = client.get("/api/trainer/live", headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 401 and forged.json() == {"error": "trainer_signed_out"}
        token = client.post("/api/trainer/sign-in", json={"pin": "482913"}).json()["token"]
        trainer = {"Authorization": f"Bearer {token}"}
        session = client.post("/api/sessions", json={"trainee": "OFC-1", "code": codes["OFC-1"]}).json()
        client.post(
            f"/api/sessions/{session['session']}/answers",
            json={"position": 0, "said_same": True, "confidence": 3, "milliseconds": 2500},
        )
        live = client.get("/api/trainer/live", headers=trainer).json()
        assert live["counts"] == {"answering": 1, "idle": 0, "finished": 0, "absent": 1}
        rows = {row["trainee"]: row for row in live["trainees"]}
        assert rows["OFC-1"]["answered"] == 1 and rows["OFC-1"]["total"] == 10
        assert rows["OFC-2"]["state"] == "absent" and truth_words(json.dumps(live)) == []
        client.post("/api/trainer/sign-out", headers=trainer)
        assert client.get("/api/trainer/live", headers=trainer).status_code == 401
        for _ in range(PIN_FAILURES - 1):
            client.post("/api/trainer/sign-in", json={"pin": "000000"})
        assert client.post("/api/trainer/sign-in", json={"pin": "482913"}).status_code == 429
        assert set(rows["OFC-1"]) == {"trainee", "class", "state", "answered", "total", "seen", "accuracy"}


def test_every_reply_is_documented_and_the_page_keeps_a_strict_policy(
    practice: tuple[str, PracticeStore],
) -> None:
    url, _ = practice
    with httpx.Client(base_url=url) as client:
        schema = client.get("/api/openapi.json").json()
        operations = [
            (path, method, operation)
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        ]
        assert len(operations) == 10
        for path, method, operation in operations:
            content = operation["responses"]["200"]["content"]
            shape = content.get("application/json", {}).get("schema") or content.get("image/jpeg")
            assert shape is not None and shape != {}, f"{method.upper()} {path} has no reply shape"
        assert "LiveTrainee" in schema["components"]["schemas"]
        assert client.get("/api/docs").status_code == 200
        page = client.get("/")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        for shared in ("/kit/kit.js", "/kit/kit.css"):
            assert f'"{shared}"' in page.text
            assert client.get(shared).status_code == 200, shared
