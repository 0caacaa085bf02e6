"""The firmware on MicroPython's own rp2 port: its build (build), an emulated RP2040 to run it
(machine, with the Node runner in runner/), and the board's LittleFS made on the host (fs)."""
