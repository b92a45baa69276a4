"""Every ``st.session_state`` key and widget ``key=`` of the dashboard, in one place.

The values are part of the app's behaviour (tests and saved sessions address widgets by them), so a
constant is renamed freely but its value is not. Keys of the "Import from exchange" panel live in
``dashboard/import_panel.py``, except :data:`HISTORY`, which the pages read.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- session data (not widgets)
DOC = "ml_portfolio_json"  # the current portfolio, canonical JSON text
SOURCE = "ml_portfolio_source"  # where it came from ("sample: ...", "file: ...")
SAMPLE = "ml_sample"  # the sample's name, or None
HISTORY = "ml_market_history"  # daily candles refreshed from a venue: {"venue", "as_of", "history"}
RISK_RESULT = "risk_result"  # (settings, risk document) of the last simulation
UPLOAD_DONE = "upload_done"  # file id of the last upload handled
UPLOAD_ERROR = "upload_error"  # problem lines of a rejected upload
EDIT_ERROR = "edit_error"  # problem lines of rejected table edits
KEPT_PREFIX = "_kept_"  # a page setting kept while its widget is not drawn (``dashboard.url.sticky``)

# --------------------------------------------------------------------------- Home
SAMPLE_PICK = "sample_pick"
LOAD_SAMPLE = "load_sample"
UPLOAD = "upload"
EDIT_FORM = "edit_form"
EDIT_VENUE = "edit_venue"
EDIT_MODE = "edit_mode"
EDIT_POSITIONS = "edit_positions"
EDIT_COLLATERAL = "edit_collateral"
EDIT_PRICES = "edit_prices"
DOWNLOAD_JSON = "download_json"
DOWNLOAD_CSV = "download_csv"

# --------------------------------------------------------------------------- Cross vs isolated
DIST_CHART = "dist_chart"

# --------------------------------------------------------------------------- Shock lab
SHOCK_MOVE = "shock_move"
SHOCK_BETAS = "shock_betas"
SHOCK_SETTLE = "shock_settle"
SHOCK_SHOW_POSITIONS = "shock_show_positions"
GAUGES = "gauges"
POOLS_CHART = "pools_chart"

# --------------------------------------------------------------------------- Liquidation map
MAP_SYMBOL = "map_symbol"
LADDER = "ladder"
FR_X = "fr_x"
FR_Y = "fr_y"
FR_RANGE = "fr_range"
FR_VIEW = "fr_view"
FRONTIER = "frontier"

# --------------------------------------------------------------------------- Contagion
CT_TARGET = "ct_target"
CT_MOVE = "ct_move"
CT_IMPACT = "ct_impact"
CT_STRENGTH = "ct_strength"
#: the Contagion page's gap switch (orders fill at the shocked mark, format §7 ``--gap``)
CT_GAP = "ct_gap"

# --------------------------------------------------------------------------- Stress tests
STRESS_MEASURE = "stress_measure"
STRESS_CHART = "stress_chart"
STRESS_PRESET = "stress_preset"
RISK_HORIZON = "risk_horizon"
RISK_MODEL = "risk_model"
RISK_PATHS = "risk_paths"
RISK_RUN = "risk_run"
RISK_CHART = "risk_chart"

# --------------------------------------------------------------------------- Learn
LEARN_POS = "learn_pos"


# --------------------------------------------------------------------------- keys made from a name


def kept(key: str) -> str:
    """The non-widget key that keeps widget ``key``'s value across pages."""
    return f"{KEPT_PREFIX}{key}"


def shock_asset(asset: str) -> str:
    """The Shock lab's per-asset move slider of ``asset``."""
    return f"shock_{asset}"


def risk_vol(asset: str) -> str:
    """The Stress page's hand-set volatility input of ``asset``."""
    return f"risk_vol_{asset}"


def home_positions(view: str) -> str:
    """The Home page's positions table of ``view``."""
    return f"home_positions_{view}"


def waterfall(view: str) -> str:
    """The Contagion page's waterfall chart of ``view``."""
    return f"water_{view}"


# --------------------------------------------------------------------------- What-if calculator
CALC_PREFIX = "calc_"  # every widget and session key of the calculator card starts with it


def calc(name: str) -> str:
    """The calculator card's key ``name`` (``calc_symbol``, ``calc_size``, ``calc_price_<symbol>``)."""
    return f"{CALC_PREFIX}{name}"


# --------------------------------------------------------------------------- Share control (sidebar)
SHARE_BUTTON = "share_button"

# ------------------------------------------------------------------- Orders (format §7): Home's editor and tables
EDIT_ORDERS = "edit_orders"  # the editor's orders table
EDIT_SLIPPAGE = "edit_slippage"  # the editor's slippage input (blank: not given, 0)
EDIT_AS_OF = "edit_as_of"  # the editor's as_of input (format §6.1; blank: not given)
EDIT_INDEX_PRICES = "edit_index_prices"  # the editor's index prices table (format §6.1)
EDIT_BUILT_FOR = "edit_built_for"  # a hash of the portfolio text the editor's inputs were last filled from


# --------------------------------------------------------------------------- Monitor (format §8): live marks
MON_STATE = "ml_monitor"  # the session's monitor (dashboard.monitor.MonitorState), not a widget
MON_RULES_ERROR = "mon_rules_error"  # problem lines of rejected alert-rule edits
MON_START_ERROR = "mon_start_error"  # why Start was refused (a bad API URL)
MON_VENUE = "mon_venue"
MON_INTERVAL = "mon_interval"
MON_START = "mon_start"
MON_STOP = "mon_stop"
MON_API_URL = "mon_api_url"
MON_VIEW = "mon_view"  # the view of the margin-ratio history chart
MON_CHART = "mon_chart"
MON_RULES_FORM = "mon_rules_form"


def monitor_rules(digest: str) -> str:
    """The Monitor page's alert-rules editor for the rules of digest ``digest`` (``dashboard.monitor.rules_key``)."""
    return f"mon_rules_{digest}"


# --------------------------------------------------------------------------- Options & portfolio margin (format §6)
OPT_PNL = "opt_pnl"  # the PnL-across-moves chart
OPT_PNL_BASE = "opt_pnl_base"  # its underlying, when the options are on more than one
OPT_MARKET_FORM = "opt_market_form"
OPT_AS_OF = "opt_as_of"
OPT_INDEX_PRICES = "opt_index_prices"
OPT_MARKET_ERROR = "opt_market_error"  # problem lines of a rejected as_of / index prices edit
SHOCK_VOL = "shock_vol"  # the Shock lab's volatility move of every option base, %
SHOCK_DAYS = "shock_days"  # the Shock lab's days forward


def opt_matrix(base: str) -> str:
    """The Options page's risk-matrix heatmap of ``base``."""
    return f"opt_matrix_{base}"
