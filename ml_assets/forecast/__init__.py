"""Revenue forecast: ``revenue_forecast`` in ``assets.py``, the model and backtest in ``model.py``."""
