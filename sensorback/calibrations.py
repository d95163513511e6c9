"""Stored calibrations: per device in one JSON file beside the config, or one in a file of its own.

    store = CalibrationStore()                          # calibrations.json beside config.toml
    store.save(["AA:BB:..", "Polar H10 1234"], cal, device="Polar H10 1234", how="sensorback calibrate")
    cal, entry = store.load("Polar H10 1234")
    store.save_sensor(["AA:BB:.."], sensor, how="monitor: learned")   # a live session's sensor fit
    sensor, entry = store.load_sensor("AA:BB:..")
    cal = load_calibration("mine.json")                 # --calibration FILE (or a device's name)

The maths of a calibration lives in sensorback.core.personal; this module only keeps them. Files
are written atomically and readable by their owner only (0600): a calibration describes a body.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from .core import Calibration
from .core.calibration import SensorCalibration
from .core.reference import sensor_from_dict
from .errors import SensorbackError
from .private import check_named_folder, own_folder, write_whole

CALIBRATIONS_ENV = "SENSORBACK_CALIBRATIONS"
CALIBRATIONS_FILE = "calibrations.json"


def calibration_from_dict(d: dict, where: str = "stored calibration") -> Calibration:
    """Calibration.from_dict with a one-line SensorbackError when it does not fit."""
    try:
        return Calibration.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        detail = f"the field {e.args[0]!r} is missing" if isinstance(e, KeyError) and e.args else str(e)
        raise SensorbackError(f"{where}: not a usable calibration: {detail}; run 'sensorback calibrate' again"
                              ) from None


def check_folder(path: Path) -> bool:
    """Whether ``path`` is in sensorback's own default config folder (made when missing); a folder
    the user named ($SENSORBACK_CALIBRATIONS, $SENSORBACK_CONFIG) that does not exist is a one-line
    error (private.check_named_folder)."""
    from .coach.config import default_config_path

    own = path.parent == default_config_path().parent
    if not own:
        check_named_folder(path, CALIBRATIONS_ENV)
    return own


def write_private_json(path: Path, data: dict) -> Path:
    """Write JSON atomically, readable by the owner only (0600: private.write_whole), creating
    sensorback's own default folder (0700) if needed; a folder the user named must exist."""
    if check_folder(path):
        own_folder(path.parent)
    write_whole(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return path


class CalibrationStore:
    """Calibrations per device in one small JSON file.

    Where: ``$SENSORBACK_CALIBRATIONS`` if set, else ``calibrations.json`` next to the coach's config
    file (``~/.config/sensorback/`` on Linux; ``$SENSORBACK_CONFIG``'s folder when that is set).
    A calibration is stored under every key that names the device (its address and its name), so
    ``--device AA:BB:..`` and ``--device "Polar H10 1234"`` both find it. The file is a JSON object
    ``{"devices": {key: {"calibration": ..., "device": ..., "saved_at": ..., "how": ...}}}`` written
    atomically, mode 0600. (A JSON file rather than a database table: a calibration belongs to
    this computer and sensor, and the store's schema is not this module's to migrate.)

    A live session learns the sensor's offset and gain as it goes (save_sensor): an entry with a
    calibration gets it in its calibration (the reference re-expressed under it,
    Calibration.with_sensor; ``saved_at`` and ``how`` still say when and how the wearer calibrated),
    and ``sensor_saved_at`` / ``sensor_how`` say when and how the sensor was learned; a device
    without a calibration gets an entry holding only ``"sensor"`` (SensorCalibration.to_dict),
    which load() passes over and load_sensor() finds.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else self.default_path()

    @staticmethod
    def default_path() -> Path:
        env = os.environ.get(CALIBRATIONS_ENV)
        if env:
            return Path(env).expanduser()
        from .coach.config import config_path

        return config_path().parent / CALIBRATIONS_FILE

    def _read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"devices": {}}
        except (OSError, UnicodeDecodeError) as e:
            raise SensorbackError(f"cannot read the calibrations file {self.path}: {getattr(e, 'strerror', None) or e}"
                                  ) from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("devices", {}), dict):
                raise ValueError("not a JSON object with 'devices'")
        except ValueError as e:
            raise SensorbackError(f"the calibrations file {self.path} is broken ({e}); delete it and calibrate again"
                                  ) from None
        data.setdefault("devices", {})
        return data

    def devices(self) -> list[str]:
        """The devices with a calibration (not those with only a learned sensor correction)."""
        return sorted(k for k, e in self._read()["devices"].items() if not sensor_only(e))

    def _entry(self, devices: dict, key: str) -> dict:
        entry = devices[key]
        if not isinstance(entry, dict):
            raise SensorbackError(f"the calibrations file {self.path} is broken (entry {key!r}); "
                                  "delete it and calibrate again")
        return entry

    def _first_entry(self, keys, has) -> tuple[str, dict] | None:
        """(key, entry) of the first of ``keys`` stored whose entry ``has(entry)``, else None."""
        devices = self._read()["devices"]
        for key in keys:
            if key and key in devices:
                entry = self._entry(devices, key)
                if has(entry):
                    return key, entry
        return None

    def load(self, *keys: Optional[str]) -> Optional[tuple[Calibration, dict]]:
        """The calibration stored under the first of ``keys`` that has one, with its entry."""
        found = self._first_entry(keys, lambda entry: not sensor_only(entry))
        if found is None:
            return None
        key, entry = found
        return calibration_from_dict(entry.get("calibration", {}), f"the calibration of {key} in {self.path}"), entry

    def load_sensor(self, *keys: Optional[str]) -> Optional[tuple[SensorCalibration, dict]]:
        """The sensor correction a live session learned (save_sensor) under the first of ``keys``
        that has one, with its entry; None when none was learned."""
        found = self._first_entry(keys, lambda entry: "sensor_saved_at" in entry)
        if found is None:
            return None
        key, entry = found
        where = f"the sensor calibration of {key} in {self.path}"
        if sensor_only(entry):
            try:
                return sensor_from_dict(entry["sensor"]), entry
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise SensorbackError(f"{where}: not usable: {e}; delete it") from None
        return calibration_from_dict(entry.get("calibration", {}), where).sensor, entry

    def save_sensor(self, keys, sensor: SensorCalibration, *, device: str = "", how: str = "") -> Path:
        """Keep a sensor correction learned for the device under every key: in the calibration
        stored there (its reference re-expressed under the new correction), or in an entry of its
        own when there is none."""
        keys = [k for k in dict.fromkeys(keys) if k]
        if not keys:
            raise ValueError("save_sensor: no device key")
        data = self._read()
        devices = data["devices"]
        now = _now()
        for k in keys:
            entry = self._entry(devices, k) if k in devices else None
            if entry is not None and not sensor_only(entry):
                cal = calibration_from_dict(entry.get("calibration", {}), f"the calibration of {k} in {self.path}")
                entry = dict(entry, calibration=cal.with_sensor(sensor).to_dict())
            else:
                entry = {"sensor": sensor.to_dict(), "device": device or (entry or {}).get("device", "")}
            entry.update(sensor_saved_at=now, sensor_how=how)
            devices[k] = entry
        return write_private_json(self.path, data)

    def save(self, keys, calibration: Calibration, *, device: str = "", how: str = "") -> Path:
        keys = [k for k in dict.fromkeys(keys) if k]
        if not keys:
            raise ValueError("save: no device key")
        data = self._read()
        entry = entry_for(calibration, device=device, how=how)
        for k in keys:
            data["devices"][k] = entry
        return write_private_json(self.path, data)


def sensor_only(entry) -> bool:
    """An entry holding only a learned sensor correction (CalibrationStore.save_sensor), no calibration."""
    return isinstance(entry, dict) and "calibration" not in entry and "sensor" in entry


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def entry_for(calibration: Calibration, *, device: str = "", how: str = "") -> dict:
    return {"calibration": calibration.to_dict(), "device": device, "saved_at": _now(), "how": how}


def save_calibration(path: str | os.PathLike, calibration: Calibration, *, device: str = "", how: str = "") -> Path:
    """One calibration in a file of its own (``sensorback calibrate --out FILE``), mode 0600."""
    return write_private_json(Path(path), entry_for(calibration, device=device, how=how))


def is_saved_calibration(text: str) -> bool:
    """Whether ``text`` is a file save_calibration wrote (one entry_for entry, not a store of several
    devices), so that ``calibrate --out`` replaces an earlier calibration and nothing else."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return (isinstance(data, dict) and isinstance(data.get("calibration"), dict) and "saved_at" in data
            and "devices" not in data)


def load_calibration(spec: str, store: CalibrationStore | None = None) -> tuple[Calibration, str]:
    """A calibration for ``--calibration SPEC``: a file (one written by ``calibrate --out``, or a
    calibrations file holding one device), else the name or address of a device in the store.
    Returns it with a few words saying where it came from."""
    path = Path(spec).expanduser()
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise SensorbackError(f"--calibration {spec}: not a calibration file ({e})") from None
        if isinstance(data, dict) and isinstance(data.get("devices"), dict):
            entries = {k: e for k, e in data["devices"].items() if not sensor_only(e)}
            distinct = {json.dumps(e, sort_keys=True) for e in entries.values()}
            if len(distinct) != 1:
                raise SensorbackError(f"--calibration {spec}: it holds {len(distinct)} devices' calibrations "
                                      f"({', '.join(sorted(entries)) or 'none'}); name one with --calibration DEVICE")
            data = next(iter(entries.values()))
        if not isinstance(data, dict):
            raise SensorbackError(f"--calibration {spec}: not a calibration file")
        inner = data.get("calibration", data)
        return calibration_from_dict(inner if isinstance(inner, dict) else {}, f"--calibration {spec}"), f"file {path}"
    if path.is_dir():
        raise SensorbackError(f"--calibration {spec}: is a folder, not a calibration file")
    if path.suffix.lower() == ".json" or os.sep in spec:
        raise SensorbackError(f"--calibration {spec}: no such file")
    store = store or CalibrationStore()
    found = store.load(spec)
    if found is None:
        if store.load_sensor(spec) is not None:
            raise SensorbackError(f"--calibration {spec}: only the sensor's offset and gain that 'monitor' learned "
                                  "are stored for it, no calibration of the wearer (run 'sensorback calibrate')")
        known = store.devices()
        have = f"calibrations are stored for: {', '.join(known)}" if known else "no calibration is stored yet"
        raise SensorbackError(f"--calibration {spec}: no such file, and no device of that name ({have}; "
                              "run 'sensorback calibrate')")
    cal, entry = found
    return cal, f"the calibration of {entry.get('device') or spec} from {entry.get('saved_at', '?')}"


__all__ = ["CALIBRATIONS_ENV", "CalibrationStore", "calibration_from_dict", "is_saved_calibration", "load_calibration",
           "save_calibration", "sensor_only"]
