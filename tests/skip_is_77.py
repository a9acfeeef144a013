"""A pytest plugin every Python suite loads (tests/meson.build: -p skip_is_77): a run in which
any test was skipped ends with exit status 77, which meson reports as SKIP and scripts/test.sh
counts as a failure. CI installs every resource the tests need, so a skip there means a test
that did not run, and a suite that reports OK without running is a defect (STYLE 13)."""
SKIPPED_EXIT = 77


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        print(f"\n{skipped} test(s) skipped: exit {SKIPPED_EXIT} (meson: SKIP; scripts/test.sh: a failure)")
        session.exitstatus = SKIPPED_EXIT
