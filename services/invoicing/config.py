"""Settings of the invoicing service: env prefix ``INVOICING_``."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICING_", extra="ignore")

    service_name: str = "invoicing"
    http_port: int = 8002
