"""The email channel's building blocks, independent of the hub (nothing here imports `hub`).

* `config`: an account's configuration, checked (`parse_config`, `InvalidConfig` naming the
  key, `SECRET_KEYS`, `masked`).
* `imap`: `MailboxReader`, new mail by UID with the state handed in and out, IDLE or polling.
* `parse`: `parse_mail`, a raw mail into a `ParsedMail` (never raises).
* `compose`: `compose_mail`, a reply or a first mail with its threading headers.
* `smtp`: `send_mail`, and the classification of what went wrong.
* `errors`: transient / authentication / configuration / permanent.
"""
