"""Everything held about a player: exporting it ("export my data") and erasing it ("delete my account").

Other apps hold rows about players too (attempts, XP entries, badges), and `accounts` must not
import them: each app registers its holdings in its AppConfig.ready() (`registry.register`), and
`skillquest/tests/test_personal_data.py` fails when a model with a foreign key to the user is
neither registered nor declared kept on purpose.
"""
