"""sensorback: posture and sitting states from a clip-on accelerometer."""

__version__ = "0.1.0"
