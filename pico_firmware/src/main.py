"""Boot: load the configuration, build the adapters (the board's or the emulator's), serve."""

import gc
import sys

gc.collect()

# on the Unix port (the emulator) the board's root is the working directory
ROOT = "/" if sys.platform in ("rp2", "esp32") else "./"


def adapters(cfg):
    if ROOT == "/":
        import board

        return board.build(cfg, ROOT)
    import emulated

    return emulated.build(cfg, ROOT)


def forget(*names):
    for name in names:
        sys.modules.pop(name, None)
        pkg, _, attr = name.rpartition(".")
        if pkg in sys.modules:
            try:
                delattr(sys.modules[pkg], attr)
            except AttributeError:
                pass


def main():
    from tfa import config

    try:
        cfg = config.load_config(ROOT)
    except config.ConfigError as e:
        print("config error:", e)
        sys.exit(2)
    gc.collect()
    # the adapters first: the display's frame buffer is one large block, easiest to place
    # while the heap is still unfragmented
    ad = adapters(cfg)
    gc.collect()
    try:
        users = config.load_users(ROOT)
    except config.ConfigError as e:
        print("config error:", e)
        sys.exit(2)
    # the loaders are done: drop them (and the base32 decoder) from the heap
    del config
    forget("tfa.config", "tfa.b32", "emulated")
    gc.collect()
    from tfa import firmware

    firmware.run(cfg, users, ad, ROOT)


main()
