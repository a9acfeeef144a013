"""The README promises what CI does: its package list is scripts/debian-packages.txt (the one
apt-get install of .ci/run), and its two commands exist and are the scripts CI runs."""
import os
import re
import sys
import unittest

SOURCE = os.environ.get("SSW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def read(path):
    with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
        return f.read()


class ReadmeTest(unittest.TestCase):
    def test_package_list_is_the_one_ci_installs(self):
        listed = [l.strip() for l in read("scripts/debian-packages.txt").splitlines()
                  if l.strip() and not l.startswith("#")]
        section = read("README.md").split("## Requirements", 1)[1].split("\n## ", 1)[0]
        block = section.split("```text\n", 1)[1].split("```", 1)[0]
        named = block.split()
        self.assertEqual(sorted(named), sorted(listed),
                         f"README names {sorted(set(named) - set(listed))} beyond the list and lacks "
                         f"{sorted(set(listed) - set(named))}")

    def test_two_commands_are_the_scripts(self):
        readme = read("README.md")
        commands = re.findall(r"```sh\n(.+?)\n```", readme.split("## Two commands", 1)[1].split("\n## ", 1)[0])
        self.assertEqual(commands, ["bash scripts/quickstart.sh", "bash scripts/test.sh"])
        self.assertIn("scripts/test.sh", read(".ci/run"))
        for c in commands:
            self.assertTrue(os.access(os.path.join(SOURCE, c.split()[1]), os.X_OK), c)


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
