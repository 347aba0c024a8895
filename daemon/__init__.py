"""xiaozhi-memd: an offline server with long-term memory for xiaozhi ESP32 voice devices."""

__version__ = "0.1.0"
