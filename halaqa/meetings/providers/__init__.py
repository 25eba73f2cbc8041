"""Meeting providers behind one interface (base.MeetingProvider)."""
