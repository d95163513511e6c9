"""bleak backends that run on the virtual radio (virtual.py), for tests and demos.

Use them through bleak's own top-level classes:

    async with VirtualRadio() as radio:
        await radio.add_peripheral(MicrobitAccelerometer(samples))
        device = await BleakScanner.find_device_by_name("BBC micro:bit [zuvip]", backend=VirtualScannerBackend)
        async with BleakClient(device, disconnected_callback=on_gone, backend=VirtualClientBackend) as client:
            await client.start_notify(ACCEL_DATA_UUID, on_data)

bleak 3.1 hands `backend=` a class and constructs it itself, with exactly these arguments:

    BleakScanner -> backend(detection_callback, service_uuids, scanning_mode, bluez=..., cb=..., **kwargs)
    BleakClient  -> backend(address_or_ble_device, disconnected_callback=..., services=..., timeout=...,
                            bluez=..., winrt=..., **kwargs)

Extra keyword arguments given to BleakScanner/BleakClient (and to BleakScanner.discover /
find_device_by_name / find_device_by_address) reach the backend unchanged, so `radio=radio` selects
a radio explicitly. Without it a backend uses the radio of the BLEDevice it was given, else the one
radio running in the current event loop (VirtualRadio.current()).

Semantics follow what bleak's real backends do (BlueZ first, since sensorback runs on Linux):
- the disconnected callback fires once per connection, whichever side ends it (BlueZ, WinRT and
  CoreBluetooth all call it after a local disconnect() too);
- connect() scans for the device first when it was given an address string (like BlueZ) and raises
  BleakDeviceNotFoundError when it is not advertising; it then exchanges the MTU and discovers services;
- characteristic.handle is the ATT *value* handle; descriptors have their own handles;
- the GAP service (0x1800) is not listed, as on BlueZ; the GATT service (0x1801) is;
- ATT error responses raise BleakGATTProtocolError with the ATT error code;
- pair() runs bumble's SMP (Just Works, in-memory keys); BleakClient(pair=True) pairs right after
  connecting; unpair() disconnects and forgets the keys.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner
from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection

from .virtual import VirtualRadio, address_to_str, bumble_uuid_to_str

logger = logging.getLogger(__name__)

DEFAULT_MTU_REQUEST = 517  # what BlueZ and Android ask for; the peripheral's max_mtu caps it
ATT_DEFAULT_MTU = 23
GAP_SERVICE = UUID.from_16_bits(0x1800)

_UUID_LIST_TYPES = (
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


@dataclass
class VirtualDeviceDetails:
    """BLEDevice.details for devices found on the virtual radio."""

    radio: VirtualRadio
    address: hci.Address  # with its address type, which bumble needs to connect
    advertisement: Advertisement  # the latest one


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """bleak's AdvertisementData from a bumble Advertisement.

    Repeated AD structures are merged (first name wins, UUIDs de-duplicated): a bumble scan response
    carries the advertising data followed by the scan response data, and bumble 0.0.236's virtual
    controller even sends the advertising data as the scan response.
    """
    ad = advertisement.data
    names = ad.get_all(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or ad.get_all(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    service_uuids: list[str] = []
    for ad_type in _UUID_LIST_TYPES:
        for uuids in ad.get_all(ad_type):
            for uuid in uuids:
                text = bumble_uuid_to_str(uuid)
                if text not in service_uuids:
                    service_uuids.append(text)
    manufacturer_data = {cid: bytes(data) for cid, data in ad.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)}
    service_data: dict[str, bytes] = {}
    for ad_type in _SERVICE_DATA_TYPES:
        for uuid, data in ad.get_all(ad_type):
            service_data[bumble_uuid_to_str(uuid)] = bytes(data)
    tx_powers = ad.get_all(AdvertisingData.Type.TX_POWER_LEVEL, raw=True)
    tx_power = int.from_bytes(tx_powers[0], "little", signed=True) if tx_powers else None
    return AdvertisementData(
        local_name=names[0] if names else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


def _resolve_radio(radio: VirtualRadio | None, device: BLEDevice | str | None = None) -> VirtualRadio:
    if radio is not None:
        return radio
    if isinstance(device, BLEDevice) and isinstance(device.details, VirtualDeviceDetails):
        return device.details.radio
    return VirtualRadio.current()


class VirtualScannerBackend(BaseBleakScanner):
    """bleak scanner backend on the virtual radio: BleakScanner(..., backend=VirtualScannerBackend)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: VirtualRadio | None = None,
        **kwargs: Any,  # bluez=, cb=: other backends' options, ignored
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if scanning_mode not in ("active", "passive"):
            raise BleakError(f"invalid scanning mode {scanning_mode!r}")
        self._active = scanning_mode == "active"
        self._radio = radio
        self._scanning_on: VirtualRadio | None = None
        self._token: object | None = None

    async def start(self) -> None:
        if self._token is not None:
            raise BleakError("scanning is already started")
        radio = _resolve_radio(self._radio)
        assert radio.central is not None
        self.seen_devices = {}
        self._scanning_on = radio
        self._token = await radio.central.add_scan_listener(self._on_advertisement, active=self._active)

    async def stop(self) -> None:
        token, radio = self._token, self._scanning_on
        self._token = self._scanning_on = None
        if token is not None and radio is not None and radio.central is not None:
            await radio.central.remove_scan_listener(token)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        radio = self._scanning_on
        if radio is None:
            return
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = address_to_str(advertisement.address)
        name = data.local_name
        if name is None and address in self.seen_devices:  # keep a name seen earlier, like BlueZ does
            name = self.seen_devices[address][0].name
        details = VirtualDeviceDetails(radio=radio, address=advertisement.address, advertisement=advertisement)
        device = self.create_or_update_device(address, address, name, details, data)
        device.details = details
        self.call_detection_callbacks(device, data)


def _properties(bits: int) -> list:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if bits & bit]


class VirtualClientBackend(BaseBleakClient):
    """bleak client backend on the virtual radio: BleakClient(device, backend=VirtualClientBackend).

    Extra options (pass them to BleakClient, they reach this constructor):
    radio:       the VirtualRadio to use (default: the device's, else the current one)
    mtu_request: the ATT MTU asked for in the MTU exchange right after connecting (default 517; the
                 result is min(mtu_request, peripheral's max_mtu)); None skips the exchange (MTU 23)
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback=None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        radio: VirtualRadio | None = None,
        mtu_request: int | None = DEFAULT_MTU_REQUEST,
        **kwargs: Any,  # bluez=, winrt=: other backends' options, ignored
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._device = address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        self._radio = radio
        self._requested_services = set(services) if services else None
        self._mtu_request = mtu_request
        self._connection: Connection | None = None
        self._established = False  # connect() finished: a disconnection is reported to the callback
        self._subscribers: dict[int, Any] = {}  # characteristic value handle -> bumble subscriber

    # ---- properties --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self._device is not None and self._device.name:
            return self._device.name
        return self.address.replace(":", "-")  # BlueZ's alias for a device without a name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # ---- connection --------------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.is_connected:
            raise BleakError("Client is already connected")
        timeout = kwargs.get("timeout", self._timeout)
        radio = _resolve_radio(self._radio, self._device)
        assert radio.central is not None

        if self._device is None or not isinstance(self._device.details, VirtualDeviceDetails):
            found = await BleakScanner.find_device_by_address(
                self.address, timeout=timeout, backend=VirtualScannerBackend, radio=radio
            )
            if found is None:
                raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
            self._device = found
        details: VirtualDeviceDetails = self._device.details

        try:
            connection = await radio.central.connect(details.address, timeout=timeout)
        except RuntimeError as error:
            raise BleakError(str(error)) from error
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason))
        try:
            if pair:
                await self.pair()
            if self._mtu_request is not None:
                await self._att(connection.gatt_client.request_mtu(self._mtu_request))
            self.services = await self._discover_services(connection)
            self._established = True
        except BaseException:
            if self._connection is connection:
                await self.disconnect()
            raise

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect()
        except Exception as error:  # noqa: BLE001 - the link may already be gone
            logger.debug("disconnect: %r", error)
        if self._connection is connection:  # no disconnection event came: clean up anyway
            self._on_disconnection(connection, hci.HCI_CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not connection:
            return
        logger.debug("virtual client %s: disconnected, reason 0x%02X", self.address, reason)
        self._connection = None
        self.services = None
        self._subscribers.clear()
        established, self._established = self._established, False
        # like WinRT: a connect() that fails half-way raises, it does not also call back
        if established and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair over the live connection (bumble's SMP, Just Works, keys kept in memory)."""
        connection = self._require_connection()
        try:
            await connection.pair()
        except Exception as error:
            raise BleakError(f"pairing with {self.address} failed: {error}") from error

    async def unpair(self) -> None:
        """Disconnect and forget the pairing keys (like BlueZ's RemoveDevice)."""
        await self.disconnect()
        radio = _resolve_radio(self._radio, self._device)
        assert radio.central is not None
        keystore = radio.central.device.keystore
        if keystore is not None and isinstance(self._device, BLEDevice):
            details = self._device.details
            if isinstance(details, VirtualDeviceDetails):
                try:
                    await keystore.delete(str(details.address))
                except KeyError:
                    pass

    # ---- GATT --------------------------------------------------------------------------------
    async def _discover_services(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        wanted = [UUID(u) for u in self._requested_services] if self._requested_services else []
        collection = BleakGATTServiceCollection()
        for service_proxy in await self._att(client.discover_services(wanted)):
            if service_proxy.uuid == GAP_SERVICE:  # BlueZ keeps GAP to itself (bleak issue #553)
                continue
            service = BleakGATTService(service_proxy, service_proxy.handle, bumble_uuid_to_str(service_proxy.uuid))
            collection.add_service(service)
            for char_proxy in await self._att(service_proxy.discover_characteristics()):
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    bumble_uuid_to_str(char_proxy.uuid),
                    _properties(char_proxy.properties),
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for descriptor_proxy in await self._att(char_proxy.discover_descriptors()):
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor_proxy,
                            descriptor_proxy.handle,
                            bumble_uuid_to_str(descriptor_proxy.type),
                            characteristic,
                        )
                    )
        return collection

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def _att(self, operation):
        """Run one GATT client operation, mapping ATT errors and a link lost meanwhile to bleak's."""
        try:
            return await operation
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(int(error.error_code)) from error
        except asyncio.CancelledError:
            # bumble cancels a pending request when the link drops; a cancellation of our own task
            # (cancelling() > 0) stays a cancellation
            task = asyncio.current_task()
            if self._connection is None and (task is None or task.cancelling() == 0):
                raise BleakError("Not connected (the link was lost during a GATT operation)") from None
            raise

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection = self._require_connection()
        if use_cached and characteristic.handle in connection.gatt_client.cached_values:
            return bytearray(connection.gatt_client.cached_values[characteristic.handle][1])
        return bytearray(await self._att(connection.gatt_client.read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection = self._require_connection()
        if use_cached and descriptor.handle in connection.gatt_client.cached_values:
            return bytearray(connection.gatt_client.cached_values[descriptor.handle][1])
        return bytearray(await self._att(connection.gatt_client.read_value(descriptor.handle)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        connection = self._require_connection()
        value = bytes(data)
        if not response and len(value) > characteristic.max_write_without_response_size:
            raise BleakError(
                f"{len(value)} bytes do not fit in one write without response "
                f"(max {characteristic.max_write_without_response_size} at MTU {self.mtu_size})"
            )
        await self._att(connection.gatt_client.write_value(characteristic.handle, value, with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        connection = self._require_connection()
        await self._att(connection.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        connection = self._require_connection()
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"characteristic {characteristic.uuid} has neither notify nor indicate")
        if characteristic.handle in self._subscribers:
            raise BleakError(f"notifications on {characteristic.uuid} are already started")

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        try:
            # bumble registers the subscriber before it writes the CCCD, and prefers notifications
            # over indications when both are offered (as bleak asks of its backends)
            await self._att(connection.gatt_client.subscribe(characteristic.obj, subscriber, prefer_notify=True))
        except BaseException:
            self._subscribers.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        connection = self._require_connection()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if subscriber is None:
            return
        # removes our subscriber and, with no other subscriber left, writes 0 to the CCCD
        await self._att(connection.gatt_client.unsubscribe(characteristic.obj, subscriber))
