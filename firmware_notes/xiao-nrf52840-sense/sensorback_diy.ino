/*
 * sensorback-diy protocol v1 — reference sketch for the Seeed XIAO nRF52840 Sense
 * (on-board LSM6DS3 accelerometer), written for this repository.
 *
 * NOT COMPILED OR RUN HERE: sensorback's development machine has no Arduino toolchain and no
 * Bluetooth hardware. It is a small, readable starting point that follows
 * firmware_notes/sensorback-diy-protocol.md; check it on your board (nRF Connect for mobile
 * shows the frames) and fix what your library versions need.
 *
 * Board package: "Seeed nRF52 mbed-enabled Boards" -> "Seeed XIAO BLE Sense - nRF52840"
 *   (ArduinoBLE needs the mbed-enabled core; the non-mbed core uses Bluefruit instead).
 * Libraries: ArduinoBLE, "Seeed Arduino LSM6DS3".
 *
 * What it does: advertises the sensorback-diy service as "sensorback-xiao"; on START it samples
 * the accelerometer on a fixed schedule, stamps every sample with a 64-bit microsecond clock,
 * and notifies frames of `batch` samples (header: version, flags, count, header length, seq,
 * t0_us, interval_us, scale). If the loop falls behind (BLE busy), it sends what it has, skips
 * the missed slots and marks the next frame OVERFLOW, so the timestamps always stay true.
 */

#include <ArduinoBLE.h>
#include <LSM6DS3.h>
#include <Wire.h>

// ---- protocol constants (sensorback-diy v1) -------------------------------------------------
#define SVC_UUID  "9c580001-214e-48bc-a479-c7421c96f1a4"
#define DATA_UUID "9c580002-214e-48bc-a479-c7421c96f1a4"
#define CTRL_UUID "9c580003-214e-48bc-a479-c7421c96f1a4"

const uint8_t VERSION = 1;
const uint8_t HEADER_LEN = 24;
const uint8_t FLAG_FIRST = 0x01;
const uint8_t FLAG_OVERFLOW = 0x02;
const uint8_t CMD_START = 1, CMD_STOP = 2, CMD_SET_RATE = 3, CMD_SET_RANGE = 4, CMD_SET_BATCH = 5;
const uint8_t ERR_NONE = 0, ERR_UNKNOWN = 1, ERR_VALUE = 2, ERR_BUSY = 3;
const int MAX_FRAME = 244;                                 // ATT MTU 247 - 3
const int MAX_BATCH = (MAX_FRAME - HEADER_LEN) / 6;         // 36

// ---- state ----------------------------------------------------------------------------------
LSM6DS3 imu(I2C_MODE, 0x6A);

BLEService service(SVC_UUID);
BLECharacteristic dataChar(DATA_UUID, BLENotify, MAX_FRAME);
BLECharacteristic ctrlChar(CTRL_UUID, BLEWrite | BLERead, 8);

uint16_t rateHz = 50;        // requested by the host
uint8_t rangeG = 4;
uint8_t batch = 10;
uint8_t lastError = ERR_NONE;
bool streaming = false;

uint32_t intervalUs = 20000; // the schedule actually used (reported in every frame)
uint64_t nextSampleUs = 0;   // when the next sample is due
uint32_t seq = 0;
uint8_t pendingFlags = 0;

uint8_t frame[MAX_FRAME];
uint8_t count = 0;           // samples in the frame being filled
uint64_t frameT0 = 0;

// 64-bit microseconds: micros() wraps every ~71.6 minutes.
uint64_t micros64() {
  static uint32_t last = 0;
  static uint64_t high = 0;
  uint32_t now = micros();
  if (now < last) high += (1ULL << 32);
  last = now;
  return high | now;
}

// LSM6DS3 sensitivity, mg per count, by full scale (datasheet: 0.061/0.122/0.244/0.488).
float scaleFor(uint8_t g) {
  switch (g) {
    case 2: return 0.000061f;
    case 4: return 0.000122f;
    case 8: return 0.000244f;
    default: return 0.000488f;
  }
}

// The accelerometer's own data rate: the next LSM6DS3 rate at or above the requested one.
uint16_t odrFor(uint16_t hz) {
  const uint16_t odrs[] = {13, 26, 52, 104, 208, 416};
  for (uint16_t o : odrs) if (o >= hz) return o;
  return 416;
}

void writeStatus() {
  uint8_t st[8];
  st[0] = VERSION;
  st[1] = streaming ? 1 : 0;
  st[2] = rangeG;
  st[3] = batch;
  uint16_t actualHz = (uint16_t)((1000000UL + intervalUs / 2) / intervalUs);
  memcpy(&st[4], &actualHz, 2);
  st[6] = lastError;
  st[7] = 0;
  ctrlChar.writeValue(st, sizeof(st));
}

void configureImu() {
  imu.settings.gyroEnabled = 0;                 // accelerometer only: less power
  imu.settings.accelEnabled = 1;
  imu.settings.accelRange = rangeG;
  imu.settings.accelSampleRate = odrFor(rateHz);
  imu.begin();
  intervalUs = (uint32_t)(1000000UL / rateHz);  // we sample on our own schedule at this interval
}

// ---- frames ---------------------------------------------------------------------------------
void putHeader(uint8_t n) {
  float scale = scaleFor(rangeG);
  frame[0] = VERSION;
  frame[1] = pendingFlags;
  frame[2] = n;
  frame[3] = HEADER_LEN;
  memcpy(&frame[4], &seq, 4);                   // the nRF52840 is little-endian, like the protocol
  memcpy(&frame[8], &frameT0, 8);
  memcpy(&frame[16], &intervalUs, 4);
  memcpy(&frame[20], &scale, 4);
}

void sendFrame() {
  if (count == 0) return;
  putHeader(count);
  dataChar.writeValue(frame, HEADER_LEN + 6 * count);   // notifies the subscribed central
  seq++;                                                // counts even if the send failed
  pendingFlags = 0;
  count = 0;
}

void addSample(uint64_t t) {
  if (count == 0) frameT0 = t;
  int16_t xyz[3] = {imu.readRawAccelX(), imu.readRawAccelY(), imu.readRawAccelZ()};
  memcpy(&frame[HEADER_LEN + 6 * count], xyz, 6);
  count++;
  if (count >= batch) sendFrame();
}

void startStreaming() {
  configureImu();
  seq = 0;
  count = 0;
  pendingFlags = FLAG_FIRST;
  nextSampleUs = micros64() + intervalUs;
  streaming = true;
}

void stopStreaming() {
  streaming = false;
  count = 0;                                    // drop a partial frame
}

// ---- control --------------------------------------------------------------------------------
void handleControl() {
  uint8_t buf[8];
  int n = ctrlChar.valueLength();
  if (n > (int)sizeof(buf)) n = sizeof(buf);
  memcpy(buf, ctrlChar.value(), n);
  lastError = ERR_NONE;
  if (n < 1) {
    lastError = ERR_UNKNOWN;
  } else if (buf[0] == CMD_START) {
    if (!streaming) startStreaming();
  } else if (buf[0] == CMD_STOP) {
    stopStreaming();
  } else if (streaming && (buf[0] == CMD_SET_RATE || buf[0] == CMD_SET_RANGE || buf[0] == CMD_SET_BATCH)) {
    lastError = ERR_BUSY;                       // settings only while stopped
  } else if (buf[0] == CMD_SET_RATE && n >= 3) {
    uint16_t hz;
    memcpy(&hz, &buf[1], 2);
    if (hz >= 1 && hz <= 400) rateHz = hz; else lastError = ERR_VALUE;
    intervalUs = (uint32_t)(1000000UL / rateHz);
  } else if (buf[0] == CMD_SET_RANGE && n >= 2) {
    uint8_t g = buf[1];
    if (g == 2 || g == 4 || g == 8 || g == 16) rangeG = g; else lastError = ERR_VALUE;
  } else if (buf[0] == CMD_SET_BATCH && n >= 2) {
    if (buf[1] >= 1 && buf[1] <= MAX_BATCH) batch = buf[1]; else lastError = ERR_VALUE;
  } else {
    lastError = ERR_UNKNOWN;
  }
  writeStatus();                                // a read of the control characteristic = status
}

// ---- Arduino --------------------------------------------------------------------------------
void setup() {
  configureImu();
  if (!BLE.begin()) {
    while (true) delay(1000);                   // no radio: nothing to do
  }
  BLE.setLocalName("sensorback-xiao");
  BLE.setAdvertisedService(service);
  service.addCharacteristic(dataChar);
  service.addCharacteristic(ctrlChar);
  BLE.addService(service);
  writeStatus();
  BLE.advertise();
}

void loop() {
  BLEDevice central = BLE.central();
  if (!central || !central.connected()) {
    if (streaming) stopStreaming();             // stop on disconnect; advertising resumes
    BLE.poll();
    return;
  }
  BLE.poll();
  if (ctrlChar.written()) handleControl();
  if (!streaming) return;

  uint64_t now = micros64();
  if (now < nextSampleUs) return;
  if (now - nextSampleUs >= intervalUs) {
    // Fell behind by at least one slot: keep the timestamps true rather than the count.
    sendFrame();
    uint64_t missed = (now - nextSampleUs) / intervalUs;
    nextSampleUs += missed * intervalUs;
    pendingFlags |= FLAG_OVERFLOW;
  }
  addSample(nextSampleUs);                      // stamped at its scheduled time (jitter < 1 ms)
  nextSampleUs += intervalUs;
}
