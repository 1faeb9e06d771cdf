"""Who is calling, and what they may do: per-caller credentials with scopes, OIDC access
tokens, the console's signed clerk assertion, and the FastAPI dependencies every
service's routes use (:mod:`shared.auth.http`). See the README's Security section."""
