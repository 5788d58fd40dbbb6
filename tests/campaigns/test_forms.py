"""Campaign forms read typed dates in the time zone the user chose, not the server's."""

import datetime as dt

from ehub.campaigns.forms import CampaignForm, aware
from ehub.campaigns.models import CampaignStatus


def test_typed_dates_are_read_in_the_chosen_zone():
    form = CampaignForm(
        data={
            "name_en": "Malaysia Week",
            "target_market": "CN",
            "timezone": "UTC",
            "starts_at": "2026-03-01T10:00",
            "ends_at": "2026-03-08T10:00",
            "status": CampaignStatus.choices[0][0],
        }
    )
    assert form.is_valid(), form.errors
    data = form.input_data()
    assert data.starts_at == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert data.ends_at - data.starts_at == dt.timedelta(days=7)


def test_aware_relabels_the_wall_clock():
    kl = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert aware(kl, "UTC") == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    assert aware(None, "UTC") is None
