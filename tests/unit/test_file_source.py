"""FileMarketDataSource: formats, column mapping, dates and time zones, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foanalytics.adapters.market_data.files import (
    FileMarketDataSource,
    FileSourceConfig,
    read_bars_file,
)
from foanalytics.domain.errors import InvalidBarsError, InvalidInputError, NotFoundError
from foanalytics.domain.market import SeriesKey, Timeframe

OHLCV = "open,high,low,close,volume"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_backtrader_yahoo_layout_matches_pandas(shared_data: Path) -> None:
    path = shared_data / "stocks_daily" / "orcl-1995-2014.txt"
    bars = read_bars_file(path, Timeframe.D1)
    raw = pd.read_csv(path, index_col=0, parse_dates=True)
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index.tz is not None
    assert str(bars.index.tz) == "UTC"
    assert (bars.index.tz_localize(None) == raw.index).all()
    for column in ("Open", "High", "Low", "Close", "Volume"):
        np.testing.assert_array_equal(bars[column.lower()].to_numpy(), raw[column].to_numpy(float))


def test_freqtrade_feather_and_csv_agree_bit_for_bit(shared_data: Path) -> None:
    feather = read_bars_file(shared_data / "crypto/ADA_BTC-5m.feather", Timeframe.M5)
    csv = read_bars_file(shared_data / "crypto/ADA_BTC-5m.csv", Timeframe.M5)
    pd.testing.assert_frame_equal(feather, csv, check_exact=True)
    raw = pd.read_feather(shared_data / "crypto/ADA_BTC-5m.feather")
    assert (feather.index == raw["date"]).all()


def test_period_end_labels_move_to_the_bar_open(shared_data: Path) -> None:
    bars = read_bars_file(
        shared_data / "crypto/BTCUSD.csv", Timeframe.MN1, FileSourceConfig(label="end")
    )
    raw = pd.read_csv(shared_data / "crypto/BTCUSD.csv", index_col=0, parse_dates=True)
    expected = raw.index.to_period("M").to_timestamp().tz_localize("UTC")
    assert (bars.index == expected).all()
    np.testing.assert_array_equal(bars["close"].to_numpy(), raw["Close"].to_numpy())


def test_end_labels_of_intraday_bars(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.csv", f"time,{OHLCV}\n2024-01-01 01:00,1,2,1,2,5\n")
    bars = read_bars_file(path, Timeframe.H1, FileSourceConfig(label="end"))
    assert bars.index[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")


def test_explicit_mapping_epoch_milliseconds_and_time_zone(tmp_path: Path) -> None:
    ms = int(pd.Timestamp("2024-03-01", tz="UTC").value // 1_000_000)
    path = _write(
        tmp_path,
        "ex.csv",
        f"t,o,h,l,px,Adj Close,qty\n{ms},1,2,0.5,1.5,9,10\n{ms + 60_000},1.5,2,1,1.8,9,11\n",
    )
    config = FileSourceConfig(columns={"close": "px", "volume": "qty"})
    bars = read_bars_file(path, Timeframe.M1, config)
    assert bars.index[0] == pd.Timestamp("2024-03-01", tz="UTC")
    assert bars["close"].tolist() == [1.5, 1.8]
    assert bars["volume"].tolist() == [10.0, 11.0]
    local = _write(tmp_path, "ny.csv", f"Date,{OHLCV}\n2024-07-01 09:30,1,2,1,2,5\n")
    bars = read_bars_file(local, Timeframe.M30, FileSourceConfig(tz="America/New_York"))
    assert bars.index[0] == pd.Timestamp("2024-07-01 13:30", tz="UTC")


def test_us_and_day_first_dates(tmp_path: Path) -> None:
    text = f"Date,{OHLCV}\n01/02/2024,1,2,1,2,5\n01/03/2024,1,2,1,2,5\n"
    us = read_bars_file(_write(tmp_path, "us.csv", text), Timeframe.D1)
    assert us.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    eu = read_bars_file(
        _write(
            tmp_path, "eu.csv", text.replace("01/03", "02/01").replace("01/02/2024,", "01/01/2024,")
        ),
        Timeframe.D1,
        FileSourceConfig(dayfirst=True),
    )
    assert list(eu.index.strftime("%m-%d")) == ["01-01", "01-02"]


def test_parquet_with_a_datetime_index(tmp_path: Path) -> None:
    index = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC", name="Date")
    frame = pd.DataFrame({"Open": 1.0, "High": 2.0, "Low": 0.5, "Close": 1.5, "Volume": 3}, index)
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    bars = read_bars_file(path, Timeframe.D1)
    assert (bars.index == index).all()
    assert bars["close"].tolist() == [1.5] * 3


def test_source_serves_ranges_and_unknown_keys(shared_data: Path) -> None:
    key = SeriesKey.parse("nasdaq/GOOG/1d")
    source = FileMarketDataSource({key: shared_data / "stocks_daily/GOOG.csv"})
    bars = source.fetch(key, "2005-01-03", "2005-01-05")
    assert len(bars) == 2
    assert source.info().timeframes == (Timeframe.D1,)
    with pytest.raises(NotFoundError, match="nasdaq/AAPL/1d"):
        source.fetch(SeriesKey.parse("nasdaq/AAPL/1d"))


@pytest.mark.parametrize(
    ("name", "text", "config", "error", "words"),
    [
        ("a.xlsx", "x", {}, InvalidInputError, "unknown file type .xlsx"),
        ("e.csv", "", {}, InvalidInputError, "cannot read"),
        ("h.csv", f"Date,{OHLCV}\n", {}, InvalidInputError, "no rows"),
        ("c.csv", "Date,Open,High\n2024-01-01,1,2\n", {}, InvalidInputError, "low, close, volume"),
        ("d.csv", f"Date,{OHLCV}\nnot a date,1,2,1,2,5\n", {}, InvalidInputError, "dates"),
        (
            "m.csv",
            f"Date,{OHLCV}\n2024-01-01,1,2,1,2,5\n",
            {"columns": {"close": "Px"}},
            InvalidInputError,
            "no column 'Px'",
        ),
        (
            "k.csv",
            f"Date,{OHLCV}\n2024-01-01,1,2,1,2,5\n",
            {"columns": {"adj": "x"}},
            InvalidInputError,
            "not bars columns",
        ),
        (
            "z.csv",
            f"Date,{OHLCV}\n2024-01-01,1,2,1,2,5\n",
            {"tz": "Mars/Olympus"},
            InvalidInputError,
            "Mars/Olympus",
        ),
        ("n.csv", f"Date,{OHLCV}\n2024-01-01,1,2,1,,5\n", {}, InvalidBarsError, "column 'close'"),
        (
            "p.csv",
            "date,A,B\n2024-01-01,1,2\n",
            {"close_only": True},
            InvalidInputError,
            "name the column that holds the closes",
        ),
        ("q.csv", "date,SPY\n2024-01-01,1\n", {}, InvalidInputError, "close_only=True"),
        (
            "u.csv",
            f"Date,{OHLCV}\n2024-01-02,1,2,1,2,5\n2024-01-01,1,2,1,2,5\n",
            {},
            InvalidBarsError,
            "out of order",
        ),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, name, text, config, error, words) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(error, match=words) as caught:
        read_bars_file(path, Timeframe.D1, FileSourceConfig(**config))
    assert name in str(caught.value)


def test_repair_sorts_and_drops_exact_duplicates(tmp_path: Path) -> None:
    text = f"Date,{OHLCV}\n2024-01-02,1,2,1,2,5\n2024-01-01,1,2,1,2,5\n2024-01-02,1,2,1,2,5\n"
    bars = read_bars_file(
        _write(tmp_path, "r.csv", text), Timeframe.D1, FileSourceConfig(repair=True)
    )
    assert len(bars) == 2
    assert bars.index.is_monotonic_increasing


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        read_bars_file(tmp_path / "absent.csv", Timeframe.D1)
