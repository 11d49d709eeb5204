"""The SQLite quickstart (in-process jobs): event bonuses and daily quests are paid there too, and the
ledger is still append-only after the migration that rebuilt its table (progress 0007)."""

from __future__ import annotations

from skillquest.tests.test_service_endpoints import quickstart

SCRIPT = """
import django; django.setup()
from datetime import timedelta
from django.core.management import call_command; call_command('migrate', verbosity=0)
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone
from accounts.models import User
from challenges.models import Challenge
from progress.models import Event, Quest, XpEntry
sprint = Challenge.objects.create(title='Sprint', slug='sprint', xp=100, pass_score=50, published=True,
                                  grading={'type': 'self_reported'}, difficulty='easy')
now = timezone.now()
Event.objects.create(name='Live', slug='live', starts_at=now - timedelta(hours=1),
                     ends_at=now + timedelta(hours=1), xp_multiplier='1.50').challenges.set([sprint])
Quest.objects.create(name='One', kind='pass_challenges', params={'count': 1}, reward_xp=25)
c = Client(HTTP_HOST='localhost')
assert c.post('/api/v1/auth/register', {'username': 'quick', 'email': 'q@example.com',
              'password': 'Sturdy-Pass-991'}, content_type='application/json').status_code == 201
token = c.post('/api/v1/auth/login', {'username': 'quick', 'password': 'Sturdy-Pass-991'},
               content_type='application/json').json()['access_token']
auth = {'HTTP_AUTHORIZATION': f'Bearer {token}'}
r = c.post('/api/v1/attempts', {'challenge_id': str(sprint.pk), 'score': 80},
           content_type='application/json', **auth)
assert r.status_code == 201, r.content
board = c.get('/api/v1/events/live/leaderboard').json()
today = c.get('/api/v1/quests/today', **auth).json()
user = User.objects.get(username='quick')
try:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute('UPDATE progress_xpentry SET amount = 1')
    refused = False
except DatabaseError:
    refused = True
print(user.total_xp, sorted(XpEntry.objects.values_list('kind', 'amount')), board['results'][0]['xp'],
      today[0]['current'], today[0]['completed_at'] is not None, refused)
"""


def test_bonuses_and_quests_are_paid_on_the_sqlite_quickstart(tmp_path):
    result = quickstart(SCRIPT, tmp_path)
    assert result.returncode == 0, result.stderr
    # 80 XP, a 40 XP bonus, a 25 XP reward; the board counts the event's 120; the ledger refuses UPDATE.
    assert result.stdout.strip().splitlines()[-1] == (
        "145 [('attempt', 80), ('event_bonus', 40), ('quest', 25)] 120 1 True True"
    )
