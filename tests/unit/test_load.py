"""Loading spec files: plain data, a mark for every node, and every YAML problem at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from controller.errors import SpecError, SpecIssue
from controller.specs.load import load_documents


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def issues_of(root: Path | str) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_documents(root)
    return caught.value.issues


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty specs/ folder, with the working directory beside it as a user's would be."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "specs"
    folder.mkdir()
    return folder


def test_loads_yaml_files_recursively_in_path_order_as_the_user_names_them(specs: Path) -> None:
    write(specs, "b.yaml", "kind: B\n")
    write(specs, "a/z.yml", "kind: Z\n")
    write(specs, "notes.txt", "kind: Ignored\n")
    write(specs, ".hidden/x.yaml", "kind: Ignored\n")
    docs = load_documents("specs")
    assert [(d.file, d.kind) for d in docs] == [("specs/a/z.yml", "Z"), ("specs/b.yaml", "B")]


def test_root_may_be_a_single_file(specs: Path) -> None:
    write(specs, "one.yaml", "kind: One\n")
    assert [d.file for d in load_documents("specs/one.yaml")] == ["specs/one.yaml"]


def test_multi_document_file_gives_one_document_each_and_skips_empty_ones(specs: Path) -> None:
    write(
        specs,
        "multi.yaml",
        """
        kind: First
        ---
        # only a comment
        ---
        kind: Third
        """,
    )
    docs = load_documents("specs")
    assert [(d.kind, d.index) for d in docs] == [("First", 0), ("Third", 2)]
    assert docs[1].position(("kind",)) == (5, 1)


def test_marks_point_at_keys_and_list_items_one_based(specs: Path) -> None:
    write(
        specs,
        "marks.yaml",
        """
        metadata:
          tags: {CostCenter: "4711", Owner: platform}
        spec:
          network:
            publicSubnets: [10.20.0.0/24, 10.20.1.0/24]
            privateSubnets:
              - 10.20.10.0/24
              - 10.20.11.0/24
        """,
    )
    doc = load_documents("specs")[0]
    assert doc.marks[()] == (1, 1)
    assert doc.marks[("spec", "network")] == (4, 3)
    assert doc.marks[("metadata", "tags", "Owner")] == (2, 30)
    assert doc.marks[("spec", "network", "publicSubnets")] == (5, 5)
    assert doc.marks[("spec", "network", "publicSubnets", 1)] == (5, 35)
    assert doc.marks[("spec", "network", "privateSubnets", 1)] == (8, 9)


def test_values_follow_yaml_1_1_but_keys_and_dates_stay_as_written(specs: Path) -> None:
    write(
        specs,
        "values.yaml",
        """
        on: yes
        quoted: "4711"
        number: 4711
        version: 7.1
        octal: 010
        empty:
        expires: 2027-01-31
        """,
    )
    body = load_documents("specs")[0].body
    assert body == {
        "on": True,
        "quoted": "4711",
        "number": 4711,
        "version": 7.1,
        "octal": 8,
        "empty": None,
        "expires": "2027-01-31",
    }


def test_merge_keys_are_folded_in_and_overridden_by_explicit_keys(specs: Path) -> None:
    write(
        specs,
        "merge.yaml",
        """
        base: &base {cpu: 256, memory: 512}
        service:
          <<: *base
          memory: 1024
        """,
    )
    doc = load_documents("specs")[0]
    assert doc.body["service"] == {"cpu": 256, "memory": 1024}
    assert doc.marks[("service", "memory")] == (4, 3)


def test_broken_yaml_names_file_line_and_column_of_the_problem(specs: Path) -> None:
    write(
        specs,
        "broken.yaml",
        """
        kind: Environment
        spec:
          network:
            cidr: 10.0.0.0/16
           natGateways: 1
        """,
    )
    [issue] = issues_of("specs")
    assert (issue.file, issue.line, issue.column, issue.path) == ("specs/broken.yaml", 5, 4, "")
    assert issue.message.startswith("invalid YAML: ")


def test_unclosed_flow_list_names_where_the_list_started(specs: Path) -> None:
    write(specs, "broken.yaml", "zones: [us-east-1a, us-east-1b\nkind: X\n")
    [issue] = issues_of("specs")
    assert "which starts on line 1, column 8" in issue.message


def test_yaml_errors_never_quote_the_offending_text(specs: Path) -> None:
    write(specs, "leak.yaml", 'secrets: {KEY: "sk-proj-abcdEFGH1234ijklMNOP5678\n')
    [issue] = issues_of("specs")
    assert "sk-proj" not in str(issue)


def test_duplicate_key_is_an_error_at_the_second_naming_the_first(specs: Path) -> None:
    write(
        specs,
        "dup.yaml",
        """
        kind: Environment
        spec:
          storage:
            expireAfterDays: 90
            expireAfterDays: 30
        """,
    )
    [issue] = issues_of("specs")
    assert (issue.file, issue.line, issue.column) == ("specs/dup.yaml", 5, 5)
    assert issue.path == "spec.storage.expireAfterDays"
    assert issue.message == "duplicate key 'expireAfterDays' (first given on line 4)"


def test_document_that_is_not_a_mapping_is_an_error(specs: Path) -> None:
    write(specs, "list.yaml", "kind: Fine\n---\n- just\n- a list\n")
    [issue] = issues_of("specs")
    assert (issue.file, issue.line) == ("specs/list.yaml", 3)
    assert "must be a mapping" in issue.message and "not a list" in issue.message


def test_unknown_yaml_tag_is_an_error_at_its_value(specs: Path) -> None:
    write(specs, "tag.yaml", "kind: X\nvpc: !Ref Vpc\n")
    [issue] = issues_of("specs")
    assert (issue.line, issue.column, issue.path) == (2, 6, "vpc")
    assert "!Ref" in issue.message


def test_recursive_alias_is_an_error_not_a_hang(specs: Path) -> None:
    write(specs, "loop.yaml", "a: &loop [*loop]\n")
    [issue] = issues_of("specs")
    assert issue.path == "a[0]"


def test_problems_in_several_files_are_reported_together(specs: Path) -> None:
    write(specs, "a.yaml", "a: 1\na: 2\n")
    write(specs, "b.yaml", "b: [1\n")
    write(specs, "c.yaml", "kind: Fine\n")
    assert [(i.file, i.line) for i in issues_of("specs")] == [
        ("specs/a.yaml", 2),
        ("specs/b.yaml", 2),
    ]


def test_empty_specs_folder_is_an_error_naming_the_folder(specs: Path) -> None:
    [issue] = issues_of("specs")
    assert issue.file == "specs"
    assert issue.message == "no spec files found in specs"


def test_missing_specs_folder_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    [issue] = issues_of(missing)
    assert issue.message == f"no spec files found in {missing}"


def _laughs(levels: int, merge: bool) -> str:
    """Each level names the one below nine times: 9**levels values once expanded."""
    lines = ["a0: &a0 {k: v}" if merge else "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} {{<<: [{refs}], k{i}: v}}" if merge else f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("merge", [False, True], ids=["aliases", "merge-keys"])
def test_an_alias_bomb_is_refused_at_its_line_without_expanding_it(
    specs: Path, merge: bool
) -> None:
    import time

    write(specs, "bomb.yaml", _laughs(12, merge))
    started = time.monotonic()
    (issue,) = issues_of("specs")
    assert time.monotonic() - started < 5, "a hang guard, not a benchmark"
    assert issue.file == "specs/bomb.yaml" and issue.line >= 1
    assert "expands to more than 10,000 values" in issue.message


def test_merge_keys_in_a_list_let_the_earlier_mapping_win(specs: Path) -> None:
    write(
        specs,
        "merge.yaml",
        """
        small: &small {cpu: 256, memory: 512}
        large: &large {cpu: 1024, memory: 2048, desiredCount: 3}
        service: {<<: [*small, *large], memory: 1024}
        """,
    )
    body = load_documents("specs")[0].body
    assert body["service"] == {"cpu": 256, "memory": 1024, "desiredCount": 3}


def test_a_merge_of_a_plain_value_is_an_error(specs: Path) -> None:
    write(specs, "merge.yaml", "service: {<<: 3, memory: 1024}\n")
    (issue,) = issues_of("specs")
    assert "merge key (<<) takes a mapping" in issue.message and issue.line == 1


def test_nesting_past_thirty_two_levels_is_refused(specs: Path) -> None:
    write(specs, "deep.yaml", "x: " + "[" * 60 + "]" * 60 + "\n")
    (issue,) = issues_of("specs")
    assert "nested more than 32 levels deep" in issue.message


def test_an_oversized_file_is_refused_before_it_is_parsed(specs: Path) -> None:
    write(specs, "huge.yaml", "# padding\n" * 200_000)
    (issue,) = issues_of("specs")
    assert issue.file == "specs/huge.yaml"
    assert "2,000,000 bytes" in issue.message and "at most 1,000,000" in issue.message
