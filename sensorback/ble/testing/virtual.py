"""An in-process virtual BLE radio built from bumble's virtual controllers (tests and demos only).

Pieces (all live in ONE asyncio event loop, the one bleak runs in):

    VirtualRadio                     the "air": one bumble LocalLink
      central: VirtualCentral        one bumble Controller + Host + Device; the adapter that the bleak
                                     backend (bleak_backend.py) drives: scanning, connecting, GATT client
      peripherals: VirtualPeripheral one Controller + Host + Device each, with a GATT server and
                                     advertising data; subclass it to emulate a real device profile

Every bumble Controller, LocalLink, AsyncPipeSink and Device grabs the running loop when it is
created, so a radio must be built inside a coroutine (`async with VirtualRadio() as radio:`), never at
import time or in a synchronous pytest fixture.

What bumble 0.0.236's virtual controller does not model (see docs/ble-testing.md): RSSI (always
-50 dBm; VirtualCentral rewrites it per peripheral from VirtualPeripheral.rssi), scan responses (the
scanner gets the advertising data twice instead; put everything in the advertising data), the 31-byte
legacy advertising limit (not enforced), supervision timeouts (a vanished peripheral is never noticed:
use VirtualPeripheral.drop_link()), radio timing (packets move on the next loop iteration).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence

from bumble import att, data_types, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device
from bumble.gatt import Characteristic, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

REMOTE_USER_TERMINATED = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR  # 0x13: "the device said bye"
CONNECTION_TIMEOUT = hci.HCI_CONNECTION_TIMEOUT_ERROR  # 0x08: link loss (supervision timeout)

DEFAULT_CENTRAL_ADDRESS = "C0:5E:B0:00:00:01"  # static random: the two top bits are set

# The radios started in each event loop, so that a backend created without radio= finds its radio.
_radios: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[VirtualRadio]] = weakref.WeakKeyDictionary()


def bumble_uuid_to_str(uuid: UUID) -> str:
    """A bumble UUID as bleak spells UUIDs: the full 128-bit form, lower case, with dashes."""
    h = bytes(reversed(uuid.to_bytes(force_128=True))).hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def address_to_str(address: hci.Address) -> str:
    """A bumble address as bleak spells addresses on Linux: "AA:BB:CC:DD:EE:FF"."""
    return address.to_string(with_type_qualifier=False)


class _CentralController(Controller):
    """bumble's Controller, except that advertising reports carry each peripheral's own RSSI.

    bumble 0.0.236 writes rssi=-50 into every advertising report it generates; this subclass replaces
    the reports on their way to the host (Controller.send_hci_packet is the single exit to the host).
    """

    def __init__(self, name: str, *, link: LocalLink, rssi_of: Callable[[hci.Address], int | None]) -> None:
        super().__init__(name, link=link)
        self._rssi_of = rssi_of

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            packet = hci.HCI_LE_Extended_Advertising_Report_Event([self._with_rssi(r) for r in packet.reports])
        elif isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
            packet = hci.HCI_LE_Advertising_Report_Event([self._with_rssi(r) for r in packet.reports])
        super().send_hci_packet(packet)

    def _with_rssi(self, report):
        rssi = self._rssi_of(report.address)
        return report if rssi is None else dataclasses.replace(report, rssi=rssi)


class StrictCharacteristic(Characteristic):
    """A bumble Characteristic whose server side answers like a real stack.

    bumble 0.0.236's GATT server does not check attribute permissions, and when a read or write
    callback raises anything but att.ATT_Error it sends no response at all, so the client waits for
    the 30 s GATT timeout. This class answers READ/WRITE_NOT_PERMITTED from the permissions, and turns
    any other exception into ATT error UNLIKELY_ERROR (logged), so a buggy emulator fails a test fast.
    VirtualPeripheral.attach() gives every plain Characteristic of build_services() this class.
    """

    async def read_value(self, bearer):
        if not self.permissions & self.READABLE:
            raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED, self.handle)
        try:
            return await super().read_value(bearer)
        except att.ATT_Error:
            raise
        except Exception as error:
            logger.exception("read of characteristic %s failed", self.uuid)
            raise att.ATT_Error(att.ErrorCode.UNLIKELY_ERROR, self.handle) from error

    async def write_value(self, bearer, value: bytes) -> None:
        if not self.permissions & self.WRITEABLE:
            raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED, self.handle)
        try:
            await super().write_value(bearer, value)
        except att.ATT_Error:
            raise
        except Exception as error:
            logger.exception("write of characteristic %s failed", self.uuid)
            raise att.ATT_Error(att.ErrorCode.UNLIKELY_ERROR, self.handle) from error


class VirtualCentral:
    """The central side of the radio: one bumble Device shared by every bleak scanner and client.

    Like a real adapter it is shared: scanning runs while at least one scanner listens (active if any
    listener wants active scanning), and connections are made one at a time (bumble allows a single
    pending LE connection).
    """

    def __init__(self, radio: VirtualRadio, address: str) -> None:
        self.radio = radio
        self.controller = _CentralController("sensorback-central", link=radio.link, rssi_of=radio.rssi_of)
        self.device = Device(
            name="sensorback-central",
            address=hci.Address(address),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._listeners: dict[object, tuple[Callable[[Advertisement], None], bool]] = {}
        self._scan_mode: bool | None = None  # None: not scanning; else True for active scanning
        self._scan_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()

    @property
    def address(self) -> str:
        return address_to_str(self.device.random_address)

    async def power_on(self) -> None:
        await self.device.power_on()

    async def add_scan_listener(self, callback: Callable[[Advertisement], None], *, active: bool = True) -> object:
        """Call `callback(advertisement)` for every advertisement until remove_scan_listener(token)."""
        token = object()
        self._listeners[token] = (callback, active)
        await self._update_scanning()
        return token

    async def remove_scan_listener(self, token: object) -> None:
        if self._listeners.pop(token, None) is not None:
            await self._update_scanning()

    async def _update_scanning(self) -> None:
        async with self._scan_lock:
            wanted = any(active for _, active in self._listeners.values()) if self._listeners else None
            if wanted == self._scan_mode:
                return
            if self._scan_mode is not None:
                await self.device.stop_scanning()
                self._scan_mode = None
            if wanted is not None:
                await self.device.start_scanning(active=wanted, filter_duplicates=False)
                self._scan_mode = wanted

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for callback, _ in list(self._listeners.values()):
            callback(advertisement)

    def connection_to(self, address: hci.Address) -> Connection | None:
        for connection in self.device.connections.values():
            if connection.peer_address == address:
                return connection
        return None

    async def connect(self, address: hci.Address, *, timeout: float) -> Connection:
        """Open an LE connection; the peripheral must be advertising (bumble connects on its next PDU).

        Raises the builtin TimeoutError when no connection is made within `timeout` seconds (bumble
        cancels the pending connection itself; cancelling its connect() from outside would leave the
        controller with a pending connection and break the next attempt).
        """
        async with self.connect_lock:
            if self.connection_to(address) is not None:
                raise RuntimeError(f"the virtual central is already connected to {address_to_str(address)}")
            try:
                return await self.device.connect(address, timeout=timeout)
            except Exception as error:
                if type(error).__name__ == "TimeoutError":  # bumble.core.TimeoutError is not the builtin one
                    raise TimeoutError(f"no connection to {address_to_str(address)} within {timeout} s") from error
                raise

    async def close(self) -> None:
        self._listeners.clear()
        await self._update_scanning()
        for connection in list(self.device.connections.values()):
            try:
                await connection.disconnect()
            except Exception:  # noqa: BLE001 - best effort at teardown
                logger.debug("teardown: disconnect failed", exc_info=True)


class VirtualPeripheral:
    """A peripheral on the virtual radio: advertising data + a GATT server (a bumble Device).

    Subclass it and override build_services() (and, when needed, on_connected / on_disconnected /
    on_subscription) to emulate a device profile; see microbit.MicrobitAccelerometer.

    name:               advertised Complete Local Name, also the GAP Device Name
    address:            static random address, "F0:00:00:00:00:01" style (top two bits set)
    service_uuids:      advertised service UUIDs (16-bit "180D" or 128-bit strings)
    manufacturer_data:  {company id: bytes}, advertised
    service_data:       {uuid string: bytes}, advertised
    tx_power:           advertised TX Power Level (dBm) or None
    rssi:               what the central's scanner reports for this peripheral (dBm); may be changed
    advertising_interval_ms: the virtual controller sends one advertising PDU per interval
    max_mtu:            the largest ATT MTU the GATT server accepts in an MTU exchange (Polar: 232)
    readvertise:        advertise again after a disconnection (what most sensors do)
    """

    def __init__(
        self,
        name: str,
        address: str,
        *,
        service_uuids: Iterable[str] = (),
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_data: Mapping[str, bytes] | None = None,
        tx_power: int | None = None,
        rssi: int = -60,
        advertising_interval_ms: float = 20.0,
        max_mtu: int = 517,
        readvertise: bool = True,
    ) -> None:
        self.name = name
        self.address = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
        self.service_uuids = [UUID(u) for u in service_uuids]
        self.manufacturer_data = dict(manufacturer_data or {})
        self.service_data = {UUID(k): bytes(v) for k, v in (service_data or {}).items()}
        self.tx_power = tx_power
        self.rssi = rssi
        self.advertising_interval_ms = advertising_interval_ms
        self.max_mtu = max_mtu
        self.readvertise = readvertise
        self.device: Device | None = None
        self.connection: Connection | None = None
        self.radio: VirtualRadio | None = None
        self._advertising_wanted = False
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._tasks: dict[asyncio.Task, bool] = {}  # task -> cancel it on close()

    # ---- to override -------------------------------------------------------------------------
    def build_services(self) -> Sequence[Service]:
        """The GATT services of this peripheral (GAP and GATT services are added by bumble)."""
        return []

    def on_connected(self, connection: Connection) -> None:
        """A central connected (called from the event loop, must not block)."""

    def on_disconnected(self, reason: int) -> None:
        """The connection ended, whichever side ended it (reason: an HCI error code)."""

    def on_subscription(self, characteristic: Characteristic, notify: bool, indicate: bool) -> None:
        """The central wrote a CCCD: notifications/indications of `characteristic` are now on or off."""

    # ---- lifecycle ---------------------------------------------------------------------------
    @property
    def address_str(self) -> str:
        return address_to_str(self.address)

    def advertising_data(self) -> bytes:
        """The advertising payload: flags, name, service UUIDs, service data, manufacturer data, TX power."""
        structures: list = [
            data_types.Flags(
                AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
            )
        ]
        structures.append(data_types.CompleteLocalName(self.name))
        by_size: dict[int, list[UUID]] = {}
        for uuid in self.service_uuids:
            by_size.setdefault(len(uuid.uuid_bytes), []).append(uuid)
        list_types = {
            2: data_types.CompleteListOf16BitServiceUUIDs,
            4: data_types.CompleteListOf32BitServiceUUIDs,
            16: data_types.CompleteListOf128BitServiceUUIDs,
        }
        structures += [list_types[size](uuids) for size, uuids in by_size.items()]
        data_types_by_size = {
            2: data_types.ServiceData16BitUUID,
            4: data_types.ServiceData32BitUUID,
            16: data_types.ServiceData128BitUUID,
        }
        structures += [data_types_by_size[len(u.uuid_bytes)](u, d) for u, d in self.service_data.items()]
        structures += [data_types.ManufacturerSpecificData(cid, bytes(d)) for cid, d in self.manufacturer_data.items()]
        if self.tx_power is not None:
            structures.append(data_types.TxPowerLevel(self.tx_power))
        return bytes(AdvertisingData(structures))

    async def attach(self, radio: VirtualRadio) -> None:
        """Create the controller, host and device on `radio`, power on and start advertising."""
        if self.device is not None:
            raise RuntimeError(f"{self.name} is already on a radio")
        self.radio = radio
        controller = Controller(f"peripheral {self.name}", link=radio.link)
        self.device = Device(name=self.name, address=self.address, host=Host(controller, AsyncPipeSink(controller)))
        self.device.gatt_server.max_mtu = self.max_mtu
        services = list(self.build_services())
        for service in services:
            for characteristic in service.characteristics:
                if type(characteristic) is Characteristic:
                    characteristic.__class__ = StrictCharacteristic  # same object, permission-checking methods
        self.device.add_services(services)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)
        await self.device.power_on()
        await self.start_advertising()

    async def start_advertising(self) -> None:
        self._advertising_wanted = True
        if self.device is not None and self.connection is None:
            await self.device.start_advertising(
                advertising_data=self.advertising_data(),
                advertising_interval_min=self.advertising_interval_ms,
                advertising_interval_max=self.advertising_interval_ms,
            )

    async def stop_advertising(self) -> None:
        self._advertising_wanted = False
        if self.device is not None:
            await self.device.stop_advertising()

    @property
    def is_connected(self) -> bool:
        return self.connection is not None

    async def wait_connected(self, timeout: float = 5.0) -> Connection:
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self.connection is not None
        return self.connection

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._disconnected.wait(), timeout)

    async def disconnect(self, reason: int = REMOTE_USER_TERMINATED) -> None:
        """Peripheral-initiated disconnection (the central sees `reason`); no-op when not connected."""
        connection = self.connection
        if connection is not None:
            await connection.disconnect(reason)

    async def drop_link(self, *, readvertise: bool = False) -> None:
        """Emulate link loss (out of range, battery pulled): the central sees reason 0x08 (connection
        timeout) at once (the virtual controller has no supervision timer), and by default the
        peripheral stays silent until start_advertising() is called."""
        if not readvertise:
            self._advertising_wanted = False
        await self.disconnect(CONNECTION_TIMEOUT)

    def spawn(self, coroutine, *, cancel_on_close: bool = True) -> asyncio.Task:
        """Run `coroutine` as a task owned by this peripheral; close() cancels it, or waits for it when
        `cancel_on_close` is False. Use False for anything that sends HCI commands (advertising,
        disconnecting): bumble's Host is not cancellation-safe in the middle of a command."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks[task] = cancel_on_close
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: task failed", self.name, exc_info=task.exception())

    async def close(self) -> None:
        self._advertising_wanted = False
        for task, cancel in list(self._tasks.items()):
            if cancel:
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.device is not None:
            await self.device.stop_advertising()

    # ---- bumble events -----------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        self._disconnected.clear()
        self._connected.set()
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason))
        self.on_connected(connection)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self.connection is connection:
            self.connection = None
        self._connected.clear()
        self._disconnected.set()
        self.on_disconnected(reason)
        if self.readvertise and self._advertising_wanted:
            self.spawn(self.start_advertising(), cancel_on_close=False)

    def _on_subscription(self, _bearer, characteristic: Characteristic, notify: bool, indicate: bool) -> None:
        self.on_subscription(characteristic, notify, indicate)


class VirtualRadio:
    """The virtual air: a LocalLink, the central (for bleak) and the peripherals.

        async with VirtualRadio() as radio:
            sensor = await radio.add_peripheral(MicrobitAccelerometer(samples))
            async with BleakScanner(backend=VirtualScannerBackend) as scanner: ...

    While it runs, backends created without `radio=` in the same event loop use it.
    """

    def __init__(self, central_address: str = DEFAULT_CENTRAL_ADDRESS) -> None:
        self._central_address = central_address
        self.link: LocalLink | None = None
        self.central: VirtualCentral | None = None
        self.peripherals: list[VirtualPeripheral] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> VirtualRadio:
        if self.link is not None:
            raise RuntimeError("the virtual radio is already started")
        self._loop = asyncio.get_running_loop()
        self.link = LocalLink()
        self.central = VirtualCentral(self, self._central_address)
        await self.central.power_on()
        _radios.setdefault(self._loop, []).append(self)
        return self

    async def close(self) -> None:
        for peripheral in self.peripherals:
            await peripheral.close()
        if self.central is not None:
            await self.central.close()
        # let the last HCI packets (disconnection events, command completes) through
        for _ in range(5):
            await asyncio.sleep(0)
        if self._loop is not None and self in _radios.get(self._loop, []):
            _radios[self._loop].remove(self)

    async def __aenter__(self) -> VirtualRadio:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def add_peripheral(self, peripheral: VirtualPeripheral) -> VirtualPeripheral:
        if self.link is None:
            raise RuntimeError("start the radio first (async with VirtualRadio() as radio)")
        if any(p.address == peripheral.address for p in self.peripherals):
            raise ValueError(f"a peripheral with address {peripheral.address_str} is already on this radio")
        await peripheral.attach(self)
        self.peripherals.append(peripheral)
        return peripheral

    def rssi_of(self, address: hci.Address) -> int | None:
        for peripheral in self.peripherals:
            if peripheral.address == address:
                return peripheral.rssi
        return None

    @staticmethod
    def current() -> VirtualRadio:
        """The one radio running in the current event loop (for backends created without radio=)."""
        radios = _radios.get(asyncio.get_running_loop(), [])
        if not radios:
            raise RuntimeError(
                "no VirtualRadio is running in this event loop (async with VirtualRadio() as radio: ...)"
            )
        if len(radios) > 1:
            raise RuntimeError("several VirtualRadios run in this event loop: pass radio=... to the bleak backend")
        return radios[0]
