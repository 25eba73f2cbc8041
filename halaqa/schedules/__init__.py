"""Weekly recurring schedules materialised into sessions, and the academy's holidays."""
