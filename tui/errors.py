"""The one error type users see: a sentence naming the field or file and what is wrong."""


class UserError(Exception):
    """Bad input or a failed operation, explained in one sentence for the user.

    The message must never contain a secret (token, password, Wi-Fi key).
    ``code`` keeps a raw error code (e.g. an AADSTS number) for support.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
