"""The demo seed gives demo merchants bank accounts, once."""

from ehub.payments import demo
from ehub.payments.models import BankAccount


def test_seed_is_idempotent(make_org):
    orgs = {"durian": make_org(registration_number="201901012345"), "batik": make_org()}
    assert demo.seed(orgs, out=lambda *_: None) == 2
    assert demo.seed(orgs, out=lambda *_: None) == 0
    account = BankAccount.objects.get(merchant_org=orgs["durian"])
    assert len(account.account_number) == 12 and account.account_number.isdigit()
