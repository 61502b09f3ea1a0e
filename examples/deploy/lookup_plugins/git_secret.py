# Ansible lookup: the plaintext of a file encrypted by git-secret, read with
# `git-secret view`, so a locked checkout (ciphertext only) can deploy.
from __future__ import annotations

DOCUMENTATION = r"""
    name: git_secret
    short_description: read a git-secret encrypted file without unlocking the checkout
    description:
      - Runs C(git-secret view PATH) and returns the plaintext it prints.
      - Works in a locked clone (the checkout holds ciphertext) with a key
        held by the clone, the personal key ring, or O(key_file); in an
        unlocked clone it returns the work-tree file as it is.
      - >-
        The plaintext is never written to disk by the lookup. Use the result
        only in tasks with C(no_log: true), and copy it with C(content:).
    options:
      _terms:
        description: Marked files, relative to the playbook directory.
        required: true
      key_file:
        description:
          - A git-secret key file to open the files with (C(git-secret view --key)).
          - A relative path is taken from the current directory.
        type: path
        env:
          - name: GIT_SECRET_KEY_FILE
      binary:
        description: The git-secret program to run.
        type: str
        default: git-secret
        env:
          - name: GIT_SECRET
"""

EXAMPLES = r"""
- name: Install the runtime dotenv file
  ansible.builtin.copy:
    content: "{{ lookup('git_secret', 'deploy/files/.env.' ~ env) }}"
    dest: /srv/app/.env
    mode: "0600"
  no_log: true
"""

RETURN = r"""
  _raw:
    description: The plaintext of each file, unchanged.
    type: list
    elements: str
"""

import shutil
import subprocess

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        binary = self.get_option("binary")
        program = shutil.which(binary)
        if program is None:
            raise AnsibleLookupError(
                f"git_secret lookup: cannot run {binary!r}: not found or not executable; "
                "install git-secret or set GIT_SECRET to its path"
            )
        base = (variables or {}).get("playbook_dir") or self._loader.get_basedir()
        options = []
        if self.get_option("key_file"):
            # Absolute already (type: path resolves it from the current directory).
            options += ["--key", self.get_option("key_file")]
        texts = []
        for term in terms:
            path = str(term)
            # A list, never a shell: paths and options reach git-secret as they are.
            try:
                done = subprocess.run(
                    [program, "view", *options, "--", path],
                    cwd=base,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=False,
                )
            except OSError as e:
                raise AnsibleLookupError(f"git_secret lookup: cannot run {program}: {e}") from None
            if done.returncode != 0:
                # git-secret's messages name paths and key ids, never plaintext.
                message = done.stderr.decode("utf-8", "replace").strip()
                raise AnsibleLookupError(
                    f"git_secret lookup: git-secret view {path} failed "
                    f"(exit {done.returncode}): {message}"
                )
            try:
                texts.append(done.stdout.decode("utf-8"))
            except UnicodeDecodeError:
                raise AnsibleLookupError(
                    f"git_secret lookup: {path} is not UTF-8 text; the lookup returns text only"
                ) from None
        return texts
