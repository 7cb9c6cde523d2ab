"""Hypothesis strategies for what clients send: any JSON value, text that is not quite text,
and payloads shaped like the protocol's with hostile values in their fields."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text as clients get it wrong: lone surrogates, NUL and other controls, bidi overrides,
# huge strings, plus ordinary text.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Cf"]), max_size=10),
    st.sampled_from(["\ud800", "a\x00b", "\u202egnp.exe", "x" * 6000, "", " ", "../../etc"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=2**70),
    st.floats(),
    nasty_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(nasty_text, children, max_size=4)
    ),
    max_leaves=12,
)


class Deep:
    """A value nested `depth` lists deep, built only when sent (hypothesis would recurse
    through it to print it)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"Deep({self.depth})"

    def build(self) -> Any:
        value: Any = "leaf"
        for _ in range(self.depth):
            value = [value]
        return value


def materialize(data: Any) -> Any:
    return data.build() if isinstance(data, Deep) else data


# Past the hub's limit (32); python-socketio's client itself recurses past a few hundred.
deep_values = st.builds(Deep, st.integers(min_value=30, max_value=300))


FIELDS = [
    "conversation_id",
    "client_id",
    "text",
    "attachments",
    "status",
    "on",
    "after_seq",
    "before_seq",
    "limit",
    "score",
    "comment",
    "summary",
    "agent_id",
    "skill",
    "note",
    "private",
    "type",
    "name",
    "phone",
    "email",
    "message_id",
    "handled",
    "items",
    "password",
    "roles",
    "disabled",
]


def shaped_payloads(known_ids: dict[str, str]) -> st.SearchStrategy[Any]:
    """Objects with the protocol's field names, each field a hostile value or a real id."""
    field_value = st.one_of(json_values, st.sampled_from(sorted(known_ids.values())))
    shaped = st.dictionaries(st.sampled_from(FIELDS), field_value, max_size=5)
    return st.one_of(shaped, json_values, deep_values)
