"""Settings of the reminders service: env prefix ``REMINDERS_``."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REMINDERS_", extra="ignore")

    service_name: str = "reminders"
    http_port: int = 8003
