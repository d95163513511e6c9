"""End-to-end BLE through bleak's real BleakScanner/BleakClient, on a virtual radio (bumble).

No Bluetooth hardware: sensorback.ble.testing runs bumble's virtual controllers in this process and
plugs into bleak with backend=VirtualScannerBackend / VirtualClientBackend. Each test runs its own
event loop (asyncio.run) under a hard timeout, so a hang fails in seconds instead of stalling CI.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakCharacteristicNotFoundError, BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble.gatt import Characteristic, CharacteristicValue, Service

from sensorback.ble.testing import (
    CONNECTION_TIMEOUT,
    VirtualClientBackend,
    VirtualPeripheral,
    VirtualRadio,
    VirtualScannerBackend,
)
from sensorback.ble.testing.microbit import (
    ACCELEROMETER_DATA_UUID,
    ACCELEROMETER_PERIOD_UUID,
    ACCELEROMETER_SERVICE_UUID,
    MicrobitAccelerometer,
    decode_accelerometer_data,
)
from conftest import DEADLINE_S

SENSOR_NAME = "BBC micro:bit [tupov]"
NORDIC = 0x0059


def run(scenario, timeout: float = DEADLINE_S) -> None:
    async def guarded():
        async with asyncio.timeout(timeout):
            await scenario()

    asyncio.run(guarded())


def sample_rows(n: int) -> np.ndarray:
    """Deterministic milli-g rows, roughly a sensor lying still with small wobble, incl. negatives."""
    i = np.arange(n)
    return np.stack([(i * 7) % 50 - 25, -980 + i % 11, 120 - (i * 3) % 13], axis=1).astype(np.int16)


def row_bytes(rows: np.ndarray) -> list[bytes]:
    return [row.astype("<i2").tobytes() for row in rows]


class Collector:
    """A notification callback that keeps what arrives and lets a test wait for a count."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, _characteristic, data: bytearray) -> None:
        assert isinstance(data, bytearray)
        self.values.append(bytes(data))
        self._changed.set()

    async def wait_for(self, count: int) -> None:
        while len(self.values) < count:
            self._changed.clear()
            await self._changed.wait()


async def scan_for(name: str, **kwargs):
    """Scan through a real BleakScanner until `name` shows up; (BLEDevice, AdvertisementData)."""
    found: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_detection(device, adv) -> None:
        if adv.local_name == name and not found.done():
            found.set_result((device, adv))

    async with BleakScanner(on_detection, backend=VirtualScannerBackend, **kwargs):
        return await asyncio.wait_for(found, DEADLINE_S)


async def scan_until(enough: Callable[[dict], bool], **kwargs) -> dict:
    """Scan through a real BleakScanner until enough(what it has reported) is true, then return that:
    {address: (BLEDevice, AdvertisementData)}, as BleakScanner.discover(return_adv=True) does, but
    the scan lasts until the condition holds, not for a fixed time."""
    heard = asyncio.Event()
    async with BleakScanner(lambda _device, _adv: heard.set(), backend=VirtualScannerBackend, **kwargs) as scanner:
        async with asyncio.timeout(DEADLINE_S):
            while not enough(scanner.discovered_devices_and_advertisement_data):
                heard.clear()
                await heard.wait()
        return scanner.discovered_devices_and_advertisement_data


# ---- the main scenario ---------------------------------------------------------------------------
def test_scan_connect_stream_peripheral_disconnect_rescan_reconnect():
    rows = sample_rows(40)
    expected = row_bytes(rows)

    async def scenario():
        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(
                MicrobitAccelerometer(rows, name=SENSOR_NAME, rssi=-58, manufacturer_data={NORDIC: b"\x02\x01"})
            )

            # scan: name, service UUID, RSSI and manufacturer data as bleak reports them
            device, adv = await scan_for(SENSOR_NAME, service_uuids=[ACCELEROMETER_SERVICE_UUID])
            assert device.address == "F0:0B:17:00:00:01"
            assert device.name == SENSOR_NAME
            assert adv.local_name == SENSOR_NAME
            assert adv.service_uuids == [ACCELEROMETER_SERVICE_UUID]
            assert adv.rssi == -58
            assert adv.manufacturer_data == {NORDIC: b"\x02\x01"}

            # connect through the real BleakClient
            disconnects: list[BleakClient] = []
            gone = asyncio.Event()

            def on_disconnect(client: BleakClient) -> None:
                disconnects.append(client)
                gone.set()

            client = BleakClient(device, disconnected_callback=on_disconnect, backend=VirtualClientBackend)
            assert client.backend_id == "VirtualClientBackend"
            await client.connect()
            assert client.is_connected and sensor.is_connected
            assert client.mtu_size == 517
            assert client.services.get_service("1800") is None  # BlueZ hides GAP; GATT stays
            assert client.services.get_service("1801") is not None
            service = client.services.get_service(ACCELEROMETER_SERVICE_UUID)
            assert {c.uuid for c in service.characteristics} == {ACCELEROMETER_DATA_UUID, ACCELEROMETER_PERIOD_UUID}
            data_char = client.services.get_characteristic(ACCELEROMETER_DATA_UUID)
            assert data_char.properties == ["read", "notify"]
            assert [d.uuid for d in data_char.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]

            # the period: read, write with response, read back; a bad value is an ATT error
            assert await client.read_gatt_char(ACCELEROMETER_PERIOD_UUID) == struct.pack("<H", 20)
            await client.write_gatt_char(ACCELEROMETER_PERIOD_UUID, struct.pack("<H", 10), response=True)
            assert await client.read_gatt_char(ACCELEROMETER_PERIOD_UUID) == struct.pack("<H", 10)
            assert sensor.period_ms == 10
            with pytest.raises(BleakGATTProtocolError) as error:
                await client.write_gatt_char(ACCELEROMETER_PERIOD_UUID, struct.pack("<H", 0), response=True)
            assert error.value.code == 0x13  # Value Not Allowed
            assert client.is_connected

            # stream: the sensor hangs up by itself after its 12th notification
            received = Collector()
            sensor.disconnect_after(12)
            await client.start_notify(ACCELEROMETER_DATA_UUID, received)
            await asyncio.wait_for(gone.wait(), DEADLINE_S)
            assert disconnects == [client]
            assert not client.is_connected and not sensor.is_connected
            assert received.values == expected[:12]
            assert [decode_accelerometer_data(v) for v in received.values[:2]] == [tuple(map(int, r)) for r in rows[:2]]
            with pytest.raises(BleakError):
                client.services  # noqa: B018 - gone with the connection, as on every bleak backend

            # rescan (the sensor advertises again) and reconnect with the same BleakClient
            again = await BleakScanner.find_device_by_name(SENSOR_NAME, timeout=DEADLINE_S, backend=VirtualScannerBackend)
            assert again is not None and again.address == device.address
            gone.clear()
            await client.connect()
            assert client.is_connected
            await client.start_notify(ACCELEROMETER_DATA_UUID, received)
            await received.wait_for(12 + 8)
            await client.stop_notify(ACCELEROMETER_DATA_UUID)
            count, sent = len(received.values), sensor.notifications_sent
            # nothing more may arrive after stop_notify: wait five of the sensor's periods (the same
            # loop clock drives its stream), then a read round trip (anything it sent before the
            # answer has arrived by then); the sensor sent nothing more and nothing more came
            await asyncio.sleep(5 * sensor.period_ms / 1000)
            assert await client.read_gatt_char(ACCELEROMETER_PERIOD_UUID) == struct.pack("<H", 10)
            assert sensor.notifications_sent == sent and len(received.values) == count
            assert received.values == expected[:count]  # no sample lost or repeated across the drop

            # a local disconnect also reports through the callback (as BlueZ/WinRT/CoreBluetooth do)
            await client.disconnect()
            assert disconnects == [client, client]
            await sensor.wait_disconnected(DEADLINE_S)

    run(scenario)


# ---- scanning ------------------------------------------------------------------------------------
class HeartRateLike(VirtualPeripheral):
    """A second kind of peripheral on the air: 16-bit service UUID, service data, TX power."""

    def __init__(self) -> None:
        super().__init__(
            "HR-Strap",
            "F0:00:00:00:0A:01",
            service_uuids=["180D"],
            service_data={"180F": b"\x5a"},
            tx_power=-4,
            rssi=-81,
        )

    def build_services(self):
        return [
            Service("180D", [Characteristic("2A37", Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")])
        ]


def test_scanner_reports_every_peripheral_and_filters_by_service():
    microbit, strap = "F0:0B:17:00:00:01", "F0:00:00:00:0A:01"

    async def scenario():
        async with VirtualRadio() as radio:
            await radio.add_peripheral(MicrobitAccelerometer(sample_rows(3), name=SENSOR_NAME, rssi=-40))
            await radio.add_peripheral(HeartRateLike())

            seen = await scan_until(lambda seen: {microbit, strap} <= set(seen))
            assert set(seen) == {microbit, strap}
            _, hr = seen[strap]
            assert hr.local_name == "HR-Strap"
            assert hr.service_uuids == ["0000180d-0000-1000-8000-00805f9b34fb"]
            assert hr.service_data == {"0000180f-0000-1000-8000-00805f9b34fb": b"\x5a"}
            assert hr.tx_power == -4
            assert hr.rssi == -81
            assert seen[microbit][1].rssi == -40

            # bleak's filter compares strings: give it the 128-bit form (as on BlueZ). The filtered
            # scanner runs until an unfiltered one started after it has heard the micro:bit: the radio
            # hands each advertisement to every listener in the order they started, so the filtered
            # scanner had the micro:bit's too, and left it out
            async with BleakScanner(
                service_uuids=["0000180d-0000-1000-8000-00805f9b34fb"],
                scanning_mode="passive",
                backend=VirtualScannerBackend,
            ) as filtered:
                unfiltered = await scan_until(
                    lambda seen: microbit in seen and strap in filtered.discovered_devices_and_advertisement_data,
                    scanning_mode="passive")
                assert set(unfiltered) == {microbit, strap}
                assert set(filtered.discovered_devices_and_advertisement_data) == {strap}

            # RSSI follows the peripheral (walking away from the desk)
            radio.peripherals[0].rssi = -90
            _, adv = await scan_for(SENSOR_NAME)
            assert adv.rssi == -90

    run(scenario)


# ---- indications, MTU, writes: the shapes a Polar PMD profile needs ----------------------------
PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
COMMAND = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # a write-without-response characteristic


class PmdShaped(VirtualPeripheral):
    """Not the PMD protocol: only its GATT shape (control point read/write/indicate, data notify,
    server MTU 232), answering every control write with an indication and a full-MTU notification."""

    def __init__(self) -> None:
        super().__init__("Polar H10 0A0B0C0D", "F0:00:00:00:0B:01", service_uuids=["180D"], max_mtu=232)
        self.control_writes: list[bytes] = []
        self.commands: list[bytes] = []
        self.command_received = asyncio.Event()

    def build_services(self):
        props = Characteristic.Properties
        self.control = Characteristic(
            PMD_CONTROL,
            props.READ | props.WRITE | props.INDICATE,
            Characteristic.READABLE | Characteristic.WRITEABLE,
            CharacteristicValue(read=lambda _c: b"\x0f\x00", write=self._on_control),
        )
        self.data = Characteristic(PMD_DATA, props.NOTIFY, Characteristic.READABLE, b"")
        self.command = Characteristic(
            COMMAND,
            props.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_command),
        )
        return [
            Service(PMD_SERVICE, [self.control, self.data]),
            Service("6e400001-b5a3-f393-e0a9-e50e24dcca9e", [self.command]),
        ]

    def _on_control(self, connection, value: bytes) -> None:
        self.control_writes.append(value)
        self.spawn(self._answer(connection, value))

    async def _answer(self, connection, value: bytes) -> None:
        assert self.device is not None
        await self.device.indicate_subscriber(connection, self.control, b"\xf0" + value)
        await self.device.notify_subscriber(connection, self.data, bytes(i % 256 for i in range(229)))

    def _on_command(self, _connection, value: bytes) -> None:
        self.commands.append(value)
        self.command_received.set()


def test_indications_mtu_and_writes_without_response():
    async def scenario():
        async with VirtualRadio() as radio:
            polar = await radio.add_peripheral(PmdShaped())
            device, _ = await scan_for("Polar H10 0A0B0C0D")
            async with BleakClient(device, backend=VirtualClientBackend) as client:
                assert client.mtu_size == 232  # min(517 asked, 232 offered)
                control = client.services.get_characteristic(PMD_CONTROL)
                assert control.properties == ["read", "write", "indicate"]
                assert control.max_write_without_response_size == 229

                answers, frames = Collector(), Collector()
                await client.start_notify(PMD_CONTROL, answers)  # indications (no notify offered)
                await client.start_notify(PMD_DATA, frames)
                await client.write_gatt_char(PMD_CONTROL, b"\x01\x02", response=True)
                await answers.wait_for(1)
                await frames.wait_for(1)
                assert polar.control_writes == [b"\x01\x02"]
                assert answers.values == [b"\xf0\x01\x02"]
                assert frames.values == [bytes(i % 256 for i in range(229))]  # a full 229-byte payload

                await client.write_gatt_char(COMMAND, b"go", response=False)
                await asyncio.wait_for(polar.command_received.wait(), DEADLINE_S)
                assert polar.commands == [b"go"]
                with pytest.raises(BleakError):
                    await client.write_gatt_char(COMMAND, bytes(230), response=False)
                with pytest.raises(BleakGATTProtocolError) as error:  # the data characteristic is not writable
                    await client.write_gatt_char(PMD_DATA, b"x", response=True)
                assert error.value.code == 0x03  # Write Not Permitted
                with pytest.raises(BleakCharacteristicNotFoundError):
                    await client.read_gatt_char("00002a19-0000-1000-8000-00805f9b34fb")

            # without an MTU exchange the link stays at 23 and the server cuts notifications to 20 bytes
            frames = Collector()
            # (and BleakClient(pair=True) pairs right after connecting)
            async with BleakClient(device, backend=VirtualClientBackend, mtu_request=None, pair=True) as client:
                assert client.mtu_size == 23
                assert polar.connection is not None and polar.connection.is_encrypted
                await client.start_notify(PMD_CONTROL, Collector())
                await client.start_notify(PMD_DATA, frames)
                await client.write_gatt_char(PMD_CONTROL, b"\x01", response=True)
                await frames.wait_for(1)
                assert frames.values == [bytes(range(20))]

    run(scenario)


# ---- addresses, link loss, absent devices ---------------------------------------------------------
def test_connect_by_address_link_loss_and_absent_device():
    async def scenario():
        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(MicrobitAccelerometer(sample_rows(5), name=SENSOR_NAME))
            gone = asyncio.Event()
            # an address string: the backend scans for it first, like BlueZ
            client = BleakClient("F0:0B:17:00:00:01", lambda _c: gone.set(), timeout=DEADLINE_S, backend=VirtualClientBackend)
            await client.connect()
            assert client.is_connected and client.name == SENSOR_NAME

            # link loss: the sensor vanishes (reason 0x08) and stops advertising
            await sensor.drop_link()
            await asyncio.wait_for(gone.wait(), DEADLINE_S)
            assert not client.is_connected
            with pytest.raises(BleakDeviceNotFoundError):
                await BleakClient("F0:0B:17:00:00:01", timeout=0.2, backend=VirtualClientBackend).connect()

            # back in range; pairing (bumble's SMP, Just Works) encrypts the link
            await sensor.start_advertising()
            await client.connect()
            assert client.is_connected
            await client.pair()
            assert sensor.connection is not None and sensor.connection.is_encrypted
            await client.unpair()
            assert not client.is_connected
            assert CONNECTION_TIMEOUT == 0x08

    run(scenario)


class HangsUpOnRead(VirtualPeripheral):
    """Drops the link while a read is pending: bumble cancels the request, bleak must see a BleakError."""

    def build_services(self):
        async def read(_connection) -> bytes:
            await self.disconnect()
            await asyncio.sleep(1.0)
            return b"never"

        props = Characteristic.Properties
        return [
            Service(
                "1234", [Characteristic("2345", props.READ, Characteristic.READABLE, CharacteristicValue(read=read))]
            )
        ]


def test_link_lost_during_a_read_is_a_bleak_error_not_a_cancellation():
    async def scenario():
        async with VirtualRadio() as radio:
            await radio.add_peripheral(HangsUpOnRead("hangs-up", "F0:00:00:00:0C:01"))
            calls = []
            client = BleakClient("F0:00:00:00:0C:01", calls.append, timeout=DEADLINE_S, backend=VirtualClientBackend)
            await client.connect()
            with pytest.raises(BleakError, match="link was lost"):
                await client.read_gatt_char("2345")
            assert calls == [client] and not client.is_connected

    run(scenario)


def test_two_sensors_two_clients_at_once():
    rows_a, rows_b = sample_rows(30), -sample_rows(30)

    async def scenario():
        async with VirtualRadio() as radio:
            await radio.add_peripheral(MicrobitAccelerometer(rows_a, name="left", address="F0:0B:17:00:00:0A"))
            await radio.add_peripheral(MicrobitAccelerometer(rows_b, name="right", address="F0:0B:17:00:00:0B"))
            left = BleakClient("F0:0B:17:00:00:0A", timeout=DEADLINE_S, backend=VirtualClientBackend)
            right = BleakClient("F0:0B:17:00:00:0B", timeout=DEADLINE_S, backend=VirtualClientBackend)
            await asyncio.gather(left.connect(), right.connect())  # the central serialises the two connects
            got_left, got_right = Collector(), Collector()
            await left.start_notify(ACCELEROMETER_DATA_UUID, got_left)
            await right.start_notify(ACCELEROMETER_DATA_UUID, got_right)
            await asyncio.gather(got_left.wait_for(10), got_right.wait_for(10))
            await asyncio.gather(left.disconnect(), right.disconnect())
            assert got_left.values[:10] == row_bytes(rows_a[:10])
            assert got_right.values[:10] == row_bytes(rows_b[:10])

    run(scenario)
