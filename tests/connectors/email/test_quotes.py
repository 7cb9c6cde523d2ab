"""The quoted history below a reply, as the common clients write it, is separated."""

from __future__ import annotations

import pytest

from connectors.email.quotes import split_quoted

CASES = {
    "gmail": (
        "Thanks, that works.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Support <support@example.com> "
        "wrote:\n> Please try again.\n> Regards\n"
    ),
    "gmail wrapped attribution": (
        "Thanks, that works.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Support Team <\n"
        "support@example.com> wrote:\n\n> Please try again.\n"
    ),
    "gmail chinese": (
        "Thanks, that works.\n\nSupport <support@example.com> 于2024年1月1日周一 10:00写道：\n"
        "> 请重试\n"
    ),
    "apple mail chinese": (
        "Thanks, that works.\n\n"
        "> 在 2024年1月1日，上午10:00，Support <support@example.com> 写道：\n>\n> 请重试\n"
    ),
    "traditional chinese": (
        "Thanks, that works.\n\n於 2024年1月1日 週一 10:00，客服 寫道：\n> 請重試\n"
    ),
    "163": (
        'Thanks, that works.\n\n在 2024-01-01 10:00:00，"客服" <support@example.com> 写道：\n'
        "请重试\n"
    ),
    "163 original mail": (
        "Thanks, that works.\n\n-----原始邮件-----\n发件人：客服 <support@example.com>\n"
        "发送时间：2024年1月1日 10:00\n收件人：me@163.com\n主题：问题\n\n请重试\n"
    ),
    "qq mail": (
        "Thanks, that works.\n\n------------------ 原始邮件 ------------------\n"
        '发件人: "客服"<support@example.com>;\n发送时间: 2024年1月1日(星期一) 上午10:00\n'
        '收件人: "me"<me@qq.com>;\n主题: 回复：问题\n\n请重试\n'
    ),
    "foxmail english": (
        "Thanks, that works.\n\n------------------ Original ------------------\n"
        'From:  "Support"<support@example.com>;\nDate:  Mon, Jan 1, 2024 10:00 AM\n'
        'To:  "me"<me@qq.com>;\nSubject:  Re: question\n\nPlease try again.\n'
    ),
    "outlook": (
        "Thanks, that works.\n\n________________________________\n"
        "From: Support <support@example.com>\nSent: Monday, January 1, 2024 10:00 AM\n"
        "To: Me <me@example.org>\nSubject: RE: question\n\nPlease try again.\n"
    ),
    "outlook chinese": (
        "Thanks, that works.\n\n发件人: 客服 <support@example.com>\n发送时间: 2024年1月1日 10:00\n"
        "收件人: 我 <me@example.org>\n主题: 答复: 问题\n\n请重试\n"
    ),
    "outlook classic": (
        "Thanks, that works.\n\n-----Original Message-----\nFrom: Support\n"
        "Sent: Monday\nTo: Me\nSubject: RE: question\n\nPlease try again.\n"
    ),
    "plain quote block": "Thanks, that works.\n\n> Please try again.\n> Regards\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_history_is_split_from_the_reply(text: str) -> None:
    reply, quoted = split_quoted(text)
    assert reply == "Thanks, that works."
    assert quoted and quoted.splitlines()[-1] in (
        "> Regards",
        "> 请重试",
        "> 請重試",
        "请重试",
        "Please try again.",
        "> Please try again.",
    )


@pytest.mark.parametrize(
    "text",
    [
        "> Can you refund?\nYes.\n> And the shipping?\nAlso refunded.\n",
        "On Mon, Support wrote:\n> Can you refund?\nYes, done.\n",
        "> only a quote, nothing new\n",
        "Just a message.\nHe wrote: nothing special.\n他写道：你好\n",
    ],
    ids=["interleaved", "bottom posted", "all quote", "no history"],
)
def test_nothing_new_is_hidden(text: str) -> None:
    reply, quoted = split_quoted(text)
    assert (reply, quoted) == (text.strip("\n"), "")


def test_a_huge_body_is_split_in_linear_time() -> None:
    # 50,000 attribution-like lines each followed by new text: quadratic work would hang.
    text = "start\n" + "On Mon, X wrote:\n> q\nanswer\n" * 50_000
    reply, quoted = split_quoted(text)
    assert reply.startswith("start") and quoted == ""
