// Runs a MicroPython rp2 UF2 headless in rp2040js (the RP2040 emulator behind Wokwi).
//
//   node run.mjs --uf2 firmware.uf2 --bootrom rp2040-bootrom-b1.bin
//        [--fs-image lfs.bin --fs-offset 0x12c000 [--save-fs out.bin]]
//        [--tcp PORT] [--uart0-tcp PORT] [--wall-clock]
//
// The emulated USB CDC (MicroPython's REPL) is bridged to stdin/stdout, or with --tcp to one
// TCP client at a time on 127.0.0.1:PORT (mpremote: `connect socket://127.0.0.1:PORT`).
// --uart0-tcp bridges UART0 the same way (the PPP variant's serial line).
// --wall-clock runs the board's RTC on the host's clock, as a real RTC runs on its own crystal
// whatever the CPU does, and lets the board sleep in real time: while its core waits, its timer
// advances as the wall clock does (not at once to the next alarm), so it never runs ahead of the
// host. While the core runs, the timer counts its cycles at 125 MHz, so deadlines measured in
// ticks stay in proportion to the emulated CPU (~0.3x real time), as on a board. A network peer
// on the host then sees the board's dates, TOTP steps and idle waits in its own seconds.
//
// What stock rp2040js lacks, done here:
// - flash writes: the boot ROM's flash_range_erase ('RE') and flash_range_program ('RP') run
//   SSI commands that rp2040js does not model, so their first instruction is replaced by a BKPT
//   and the runner performs the operation on the emulated flash, then returns to the caller;
// - a cycle counter the firmware can read: BKPT #1 with r0 pointing to an 8-byte buffer writes
//   the core's cycle count there, little-endian (see CYCLES in pico_firmware/rp2/bench.py);
// - a UART transmit interrupt that MicroPython's driver can clear (see below);
// - status lines on stderr: the REPL connected, the cycle count on exit, and on SIGUSR2 the
//   core's PC and LR (for arm-none-eabi-addr2line on firmware.elf: where is it stuck?).

import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:net';
import { ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';

const FLASH_BASE = 0x10000000;
const BKPT_CYCLES = 0x01;
const BKPT_ERASE = 0x52; // 'R'
const BKPT_PROGRAM = 0x50; // 'P'
const CHUNK = 100000; // instructions between I/O turns of the event loop

const FLAGS = new Set(['wallClock']); // options without a value

function parseArgs(argv) {
  const args = { fsOffset: 0x12c000 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
    args[key] = FLAGS.has(key) ? true : argv[++i];
  }
  if (typeof args.fsOffset === 'string') args.fsOffset = Number(args.fsOffset);
  if (!args.uf2 || !args.bootrom) {
    process.stderr.write('usage: run.mjs --uf2 F --bootrom B [--fs-image I] [--tcp PORT]\n');
    process.exit(2);
  }
  return args;
}

function loadUF2(path, flash) {
  const data = readFileSync(path);
  for (let off = 0; off + 512 <= data.length; off += 512) {
    const magic0 = data.readUInt32LE(off);
    const magic1 = data.readUInt32LE(off + 4);
    if (magic0 !== 0x0a324655 || magic1 !== 0x9e5d5157) throw new Error(`${path}: not a UF2`);
    const addr = data.readUInt32LE(off + 12);
    const size = data.readUInt32LE(off + 16);
    flash.set(data.subarray(off + 32, off + 32 + size), addr - FLASH_BASE);
  }
}

// The boot ROM's function table: a 16-bit pointer at 0x14 to (code, address) 16-bit pairs.
function romFunction(rom8, code) {
  const view = new DataView(rom8.buffer);
  let p = view.getUint16(0x14, true);
  for (;;) {
    const c = view.getUint16(p, true);
    if (c === 0) throw new Error(`boot ROM has no function ${code}`);
    if (c === (code.charCodeAt(0) | (code.charCodeAt(1) << 8))) return view.getUint16(p + 2, true);
    p += 4;
  }
}

function patchBootrom(path) {
  const bytes = readFileSync(path);
  const rom8 = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  for (const [code, bkpt] of [['RE', BKPT_ERASE], ['RP', BKPT_PROGRAM]]) {
    const at = romFunction(rom8, code) & ~1;
    rom8[at] = bkpt; // BKPT #imm8 is 0xBExx, little-endian
    rom8[at + 1] = 0xbe;
  }
  return new Uint32Array(rom8.buffer);
}

// One TCP client at a time on loopback, or stdin/stdout.
function bridge(port, onData) {
  const link = { write: () => {} };
  if (port === undefined) {
    link.write = (buf) => process.stdout.write(buf);
    process.stdin.on('data', onData);
    process.stdin.on('end', () => process.exit(0));
    return link;
  }
  let client = null;
  const server = createServer((sock) => {
    if (client) client.destroy();
    client = sock;
    sock.on('data', onData);
    sock.on('close', () => { if (client === sock) client = null; });
    sock.on('error', () => {});
  });
  server.listen(Number(port), '127.0.0.1', () => {
    process.stderr.write(`runner: listening on 127.0.0.1:${server.address().port}\n`);
  });
  link.write = (buf) => { if (client) client.write(buf); };
  // stdin is the parent's pipe: when the parent goes, so does the emulator
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  return link;
}

const args = parseArgs(process.argv.slice(2));
process.env.TZ = 'UTC'; // rp2040js's RTC keeps its date in a local-time Date: no daylight saving
const sim = new Simulator();
const mcu = sim.rp2040;
mcu.logger = new ConsoleLogger(LogLevel.Error);
mcu.loadBootrom(patchBootrom(args.bootrom));
loadUF2(args.uf2, mcu.flash);
if (args.fsImage) mcu.flash.set(readFileSync(args.fsImage), args.fsOffset);

mcu.onBreak = (code) => {
  const core = mcu.core;
  const r = core.registers;
  if (code === BKPT_CYCLES) {
    const c = BigInt(Math.round(core.cycles));
    for (let i = 0; i < 8; i++) mcu.writeUint8(r[0] + i, Number((c >> BigInt(8 * i)) & 0xffn));
    return; // PC is already past the BKPT
  }
  if (code === BKPT_ERASE) {
    // flash_range_erase(addr, count, block_size, block_cmd): whole 4 KiB sectors
    const start = r[0] & ~0xfff;
    const end = (r[0] + r[1] + 0xfff) & ~0xfff;
    mcu.flash.fill(0xff, start, Math.min(end, mcu.flash.length));
  } else if (code === BKPT_PROGRAM) {
    // flash_range_program(addr, data, count): NOR programming only clears bits
    for (let i = 0; i < r[2]; i++) mcu.flash[r[0] + i] &= mcu.readUint8(r[1] + i);
  } else {
    process.stderr.write(`runner: breakpoint ${code} at 0x${core.PC.toString(16)}\n`);
    sim.stop();
    return;
  }
  core.PC = core.LR & ~1; // return from the ROM function (a leaf: nothing was pushed)
};

const cdc = new USBCDC(mcu.usbCtrl);
const pending = [];
const repl = bridge(args.tcp, (buf) => { for (const b of buf) pending.push(b); });
cdc.onSerialData = (buf) => repl.write(Buffer.from(buf));
cdc.onDeviceConnected = () => process.stderr.write('runner: usb cdc connected\n');

// The UARTs' transmit interrupt: rp2040js raises it again on every register access, so once
// MicroPython enables it (machine.UART does) its handler clears it and is re-entered forever.
// On a PL011 it is raised when the transmit FIFO drains below its trigger level, and a write to
// the interrupt clear register holds until that happens again: here, after each byte sent (the
// emulated FIFO drains at once).
const UART_DR = 0x0;
const UART_TXINTR = 1 << 5;
const UART_RTINTR = 1 << 6;
for (const u of mcu.uart) {
  u.checkInterrupts = () => u.rp2040.setInterrupt(u.irq, !!(u.interruptStatus & u.interruptMask));
  const write = u.writeUint32.bind(u);
  u.writeUint32 = (offset, value) => {
    write(offset, value);
    if (offset === UART_DR) {
      u.interruptStatus |= UART_TXINTR;
      u.checkInterrupts();
    }
  };
}

// UART0 (the PPP variant's serial line): the host's bytes wait here for room in the UART's
// 32-byte receive FIFO (it drops what does not fit)
const uart = mcu.uart[0];
const uartPending = [];
if (args.uart0Tcp !== undefined) {
  const line = bridge(args.uart0Tcp, (buf) => { for (const b of buf) uartPending.push(b); });
  uart.onByte = (b) => line.write(Buffer.from([b]));
}

// The Simulator's loop, with the host's bytes fed into the CDC's 512-byte FIFO between chunks
// (it drops what does not fit).
function execute() {
  const { clock } = sim;
  const cycleNanos = 1e9 / 125e6;
  sim.stopped = false;
  while (pending.length && cdc.txFIFO.itemCount < cdc.txFIFO.size) cdc.sendSerialByte(pending.shift());
  let fed = false;
  while (uartPending.length && !uart.rxFIFO.full) {
    uart.feedByte(uartPending.shift());
    fed = true;
  }
  if (fed || !uart.rxFIFO.empty) {
    // the receive timeout (RX idle, what MicroPython's UART.IRQ_RXIDLE and so network.PPP wait
    // for): a PL011 raises it once its line has been quiet for 32 bit periods with bytes
    // received; rp2040js never does. A turn of this loop is far longer than that.
    uart.interruptStatus |= UART_RTINTR;
    uart.checkInterrupts();
  }
  // --wall-clock: the core may sleep as long as the wall clock ran beyond what it executed
  const now = performance.now();
  let sleep = args.wallClock ? Math.max(0, (now - lastTurn) * 1e6 - busyNanos) : Infinity;
  lastTurn = now;
  busyNanos = 0;
  for (let i = 0; i < CHUNK && !sim.stopped; i++) {
    if (mcu.core.waiting) {
      // asleep until the next alarm: jump there (or, with --wall-clock, as far as real time went)
      const nanos = Math.min(clock.nanosToNextAlarm, sleep);
      if (nanos <= 0) break;
      clock.tick(nanos);
      sleep -= nanos;
      i += nanos / cycleNanos;
    } else {
      const nanos = mcu.core.executeInstruction() * cycleNanos;
      clock.tick(nanos);
      busyNanos += nanos;
    }
  }
  if (sim.stopped) return;
  if (args.wallClock && mcu.core.waiting) setTimeout(execute, 1);
  else setImmediate(execute);
}

function finish() {
  if (args.saveFs) {
    const size = mcu.flash.length - args.fsOffset;
    writeFileSync(args.saveFs, mcu.flash.subarray(args.fsOffset, args.fsOffset + size));
  }
  process.stderr.write(`runner: stopped after ${mcu.core.cycles} cycles\n`);
  process.exit(0);
}
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
// where the core is (for addr2line on firmware.elf), without stopping it
process.on('SIGUSR2', () => process.stderr.write(`runner: pc 0x${mcu.core.PC.toString(16)} lr 0x${mcu.core.LR.toString(16)}\n`));
let lastTurn = performance.now();
let busyNanos = 0;
if (args.wallClock) {
  // the RTC peripheral reads the host's clock in place of the emulated one (it keeps the date
  // the firmware sets, from then on in real seconds)
  const start = performance.now();
  const wall = { get nanos() { return (performance.now() - start) * 1e6; } };
  const rtc = mcu.peripherals[0x4005c];
  rtc.rp2040 = Object.create(mcu, { clock: { value: wall } });
}
mcu.core.PC = 0x10000000;
execute();
