"""Every REST route that takes a body, with hypothesis-chosen bodies (JSON values, broken
JSON, bytes that are not UTF-8): never a 500, every error in the {error: {code, message}}
shape, no ERROR logged, and a refused request changes nothing in the store."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import EXAMPLES, FuzzHub
from tests.fuzz.strategies import json_values, materialize, nasty_text, shaped_payloads

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PARAM = re.compile(r"\{(\w+)\}")
CONTENT_TYPES = [
    "application/json",
    "multipart/form-data; boundary=b",
    "multipart/form-data",
    "text/plain",
]


def encoded(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    try:
        return orjson.dumps(materialize(body))
    except TypeError:  # lone surrogates, integers past 64 bits: as a lax client writes them
        return json.dumps(materialize(body)).encode()


def parsed(status: int, path: str, raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise AssertionError(f"{status} {path[:80]}: not JSON: {raw[:300]!r}") from None


async def send(
    fuzz: FuzzHub, method: str, path: str, body: bytes, content_type: str
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {fuzz.admin_token}", "Content-Type": content_type}
    async with fuzz.api.session.request(
        method, fuzz.base_url + path, data=body, headers=headers
    ) as response:
        return response.status, await response.read()


def test_rest_bodies(fuzz_hub: FuzzHub) -> None:
    routes = sorted(fuzz_hub.body_routes)
    bodies = st.one_of(
        shaped_payloads(fuzz_hub.ids),
        json_values,
        st.binary(max_size=200),
        st.sampled_from([b"", b"{", b"\xff\xfe", b"[" * 5000, b'{"a": NaN}', b"null"]),
    )

    @FUZZ
    @given(
        route=st.sampled_from(routes),
        body=bodies,
        param=st.one_of(st.none(), nasty_text),
        content_type=st.sampled_from(CONTENT_TYPES),
    )
    def example(route: tuple[str, str], body: Any, param: str | None, content_type: str) -> None:
        method, template = route
        path = PARAM.sub(
            # Past 8 KiB aiohttp itself refuses the request line (a plain 400, not ours).
            lambda m: param[:200] if param is not None else fuzz_hub.ids.get(m.group(1), "x"),
            template,
        )
        path = re.sub(r"[^\x21-\x7e]", lambda m: f"%{ord(m.group()) & 0xFF:02X}", path)
        errors_before = len(fuzz_hub.errors.records)
        before = fuzz_hub.run(fuzz_hub.snapshot())
        status, raw = fuzz_hub.run(send(fuzz_hub, method, path, encoded(body), content_type))
        answer = parsed(status, path, raw)
        assert status < 500, (route, body, answer)
        assert status < 400 or answer is not None, (status, path, raw)
        if status >= 400:
            error = answer["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
            assert fuzz_hub.run(fuzz_hub.snapshot()) == before, (route, body, answer)
        logged = fuzz_hub.errors.records[errors_before:]
        assert not logged, [record.getMessage() for record in logged]

    example()
