"""The venues the exchange import supports (ccxt ids), without importing ccxt (the page needs the list
before any request is made)."""

from __future__ import annotations

#: ccxt id → what the import does on it
#: ccxt id → what the import does on it
SUPPORTED_VENUES: dict[str, str] = {
    "binanceusdm": "Binance USDⓈ-M futures (API key and secret)",
    "binancecoinm": "Binance COIN-M futures (API key and secret)",
    "bybit": "Bybit linear and inverse (API key and secret)",
    "okx": "OKX swaps (API key, secret and passphrase)",
    "hyperliquid": "Hyperliquid perpetuals (wallet address only, no key)",
    "deribit": "Deribit futures and perpetuals; options listed, not margined (API key and secret)",
}

#: venues read with a wallet address instead of a key
ADDRESS_VENUES = frozenset({"hyperliquid"})
#: venues whose key needs a passphrase
PASSWORD_VENUES = frozenset({"okx"})
