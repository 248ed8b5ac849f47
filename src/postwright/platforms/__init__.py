"""Platform adapters: one module per platform behind `base.Adapter`, plus the local emulator."""
