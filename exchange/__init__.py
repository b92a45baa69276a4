"""Exchange import through ccxt (the only package that talks to exchanges)."""
