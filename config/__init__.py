"""Settings and reference data of Visselpipa, validated at start."""

from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
