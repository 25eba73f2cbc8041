"""Small shared helpers: the clock, pagination, i18n."""
