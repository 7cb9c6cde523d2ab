"""A tenant's bot settings (GET/PUT /api/v1/settings/bot).

`mode`: off (every conversation goes to the agents), bot_first (the bot takes every new
conversation), human_first (the bot takes it only when no agent could take it now: nobody
eligible, or outside the tenant's working hours, those of the widget settings), bot_only
(the bot answers and never hands off; asked for a human, it offers to leave a message).
`channels` overrides the mode per channel type."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from hub.domain import Channel


class Mode(StrEnum):
    OFF = "off"
    BOT_FIRST = "bot_first"
    HUMAN_FIRST = "human_first"
    BOT_ONLY = "bot_only"


Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
DEFAULT_KEYWORDS = ["转人工", "人工", "人工客服", "human", "agent"]
DEFAULT_WELCOME = {
    "en": "Hi, I'm the assistant. Ask me anything, or say 'human' to talk to an agent.",
    "zh": "您好，我是智能助理，请问有什么可以帮您？需要人工服务请回复“转人工”。",
}


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode = Mode.OFF
    provider: Literal["builtin", "rasa"] = "builtin"
    rasa_url: AnyHttpUrl | None = None
    rasa_timeout_seconds: StrictFloat | StrictInt = Field(default=5.0, gt=0, le=60)
    handoff_keywords: list[Keyword] = Field(
        default_factory=lambda: list(DEFAULT_KEYWORDS), max_length=50
    )
    max_misses: StrictInt = Field(default=2, ge=1, le=20)
    channels: dict[Channel, Mode] = Field(default_factory=dict)
    # The built-in bot: answer at this confidence or above; below it down to suggest_below,
    # "did you mean" with the best questions.
    threshold: StrictFloat | StrictInt = Field(default=0.4, gt=0, le=1)
    suggest_threshold: StrictFloat | StrictInt = Field(default=0.25, gt=0, le=1)
    welcome: dict[Literal["en", "zh"], Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=lambda: dict(DEFAULT_WELCOME)
    )
    # A conversation the bot holds that stays quiet this long is closed as resolved.
    idle_close_seconds: StrictFloat | StrictInt = Field(default=900, gt=0, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def consistent(self) -> Self:
        if self.provider == "rasa" and self.rasa_url is None:
            raise ValueError("provider rasa needs rasa_url")
        if self.suggest_threshold > self.threshold:
            raise ValueError("suggest_threshold must not be above threshold")
        return self

    def mode_for(self, channel: str) -> Mode:
        for kind, mode in self.channels.items():
            if kind.value == channel:
                return mode
        return self.mode

    def public(self) -> dict[str, object]:
        return self.model_dump(mode="json")

    @classmethod
    def from_stored(cls, stored: dict[str, object] | None) -> BotSettings:
        return cls.model_validate(stored or {})
