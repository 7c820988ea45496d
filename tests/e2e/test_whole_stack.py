"""The whole stack (docs/design.md, The stack) through the real CLI: both example specs,
every field.

Each test applies specs/acme-prod.yaml and specs/acme-staging.yaml in full (several seconds
on moto), then reads AWS back through boto3. plumb's own word is trusted only for exit codes
and the run's API-call count, which is how "no second write" is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli, git_repo

PROD, STAGING = "acme-prod", "acme-staging"
# ecr:BatchGetImage reads the image manifest of the spec's tag: a read, despite its verb.
READS = ("Describe", "Get", "List", "BatchGet")


def by_tag(aws, describe: str, key: str, plumb_id: str) -> list[dict]:
    """EC2 items carrying one plumb:id, whatever their name."""
    items = getattr(aws.ec2, describe)(Filters=[{"Name": "tag:plumb:id", "Values": [plumb_id]}])
    return items[key]


def subnet_ids(aws, stack: str, tier: str) -> set[str]:
    return {
        s["SubnetId"]
        for az in ("us-east-1a", "us-east-1b")
        for s in by_tag(aws, "describe_subnets", "Subnets", f"{stack}/network/subnet-{tier}-{az}")
    }


def group_id(aws, stack: str, name: str) -> str:
    (group,) = by_tag(
        aws, "describe_security_groups", "SecurityGroups", f"{stack}/network/sg-{name}"
    )
    return group["GroupId"]


def writes(run: dict[str, Any]) -> dict[str, int]:
    """The mutating calls of a run: every operation that is not a plain read."""
    ops = run["apiCalls"]["byOperation"]
    return {op: n for op, n in ops.items() if not op.split(":", 1)[1].startswith(READS)}


def edit_spec(workdir: Path, old: str, new: str) -> None:
    spec = workdir / "specs" / "acme-prod.yaml"
    text = spec.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in the spec"
    spec.write_text(text.replace(old, new))


def check_edge(aws, stack: str, certificate: str) -> str:
    """The ALB, its target group and both listeners; returns the target group ARN."""
    elb = aws.elbv2
    (alb,) = elb.describe_load_balancers(Names=[f"{stack}-alb"])["LoadBalancers"]
    assert (alb["Scheme"], alb["Type"]) == ("internet-facing", "application")
    assert {z["SubnetId"] for z in alb["AvailabilityZones"]} == subnet_ids(aws, stack, "public")
    assert alb["SecurityGroups"] == [group_id(aws, stack, "alb")]
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_load_balancer_attributes(LoadBalancerArn=alb["LoadBalancerArn"])[
            "Attributes"
        ]
    }
    assert attrs["idle_timeout.timeout_seconds"] == "60"
    assert attrs["routing.http.drop_invalid_header_fields.enabled"] == "true"

    (tg,) = elb.describe_target_groups(Names=[f"{stack}-app"])["TargetGroups"]
    assert (tg["Protocol"], tg["Port"], tg["TargetType"]) == ("HTTP", 3000, "ip")
    assert tg["HealthCheckPath"] == "/health" and tg["Matcher"]["HttpCode"] == "200-399"
    assert tg["LoadBalancerArns"] == [alb["LoadBalancerArn"]]

    listeners = {
        li["Port"]: li
        for li in elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert [c["CertificateArn"] for c in https["Certificates"]] == [certificate]
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (forward,) = https["DefaultActions"]
    assert forward["Type"] == "forward" and forward["TargetGroupArn"] == tg["TargetGroupArn"]
    http = listeners[80]
    assert http["Protocol"] == "HTTP"
    (redirect,) = http["DefaultActions"]
    assert redirect["Type"] == "redirect"
    config = redirect["RedirectConfig"]
    assert (config["Protocol"], config["Port"], config["StatusCode"]) == (
        "HTTPS",
        "443",
        "HTTP_301",
    )
    return tg["TargetGroupArn"]


def check_data(aws, stack: str, *, backups: int, protected: bool) -> tuple[dict, dict]:
    """DocumentDB and Redis; returns the cluster and the replication group."""
    private = subnet_ids(aws, stack, "private")
    (docdb_subnets,) = aws.docdb.describe_db_subnet_groups(DBSubnetGroupName=f"{stack}-docdb")[
        "DBSubnetGroups"
    ]
    assert {s["SubnetIdentifier"] for s in docdb_subnets["Subnets"]} == private
    (cluster,) = aws.docdb.describe_db_clusters(DBClusterIdentifier=f"{stack}-docdb")["DBClusters"]
    assert (cluster["Engine"], cluster["EngineVersion"]) == ("docdb", "5.0.0")
    assert cluster["StorageEncrypted"] is True
    assert cluster["DeletionProtection"] is protected
    assert cluster["BackupRetentionPeriod"] == backups
    assert cluster["DBSubnetGroup"] == f"{stack}-docdb"
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [
        group_id(aws, stack, "docdb")
    ]
    assert cluster["MasterUserSecret"]["SecretArn"].startswith("arn:aws:secretsmanager:")
    (member,) = cluster["DBClusterMembers"]
    (instance,) = aws.docdb.describe_db_instances(
        DBInstanceIdentifier=member["DBInstanceIdentifier"]
    )["DBInstances"]
    assert instance["DBInstanceClass"] == "db.t3.medium"

    cache = aws.elasticache
    (cache_subnets,) = cache.describe_cache_subnet_groups(CacheSubnetGroupName=f"{stack}-redis")[
        "CacheSubnetGroups"
    ]
    assert {s["SubnetIdentifier"] for s in cache_subnets["Subnets"]} == private
    (redis,) = cache.describe_replication_groups(ReplicationGroupId=f"{stack}-redis")[
        "ReplicationGroups"
    ]
    assert redis["CacheNodeType"] == "cache.t3.micro"
    assert len(redis["MemberClusters"]) == 1
    assert redis["AutomaticFailover"] == "disabled"
    assert redis["AtRestEncryptionEnabled"] is True and redis["TransitEncryptionEnabled"] is True
    assert redis["SnapshotRetentionLimit"] == 0
    (node,) = cache.describe_cache_clusters(CacheClusterId=redis["MemberClusters"][0])[
        "CacheClusters"
    ]
    assert node["EngineVersion"].startswith("7.1")
    assert node["CacheSubnetGroupName"] == f"{stack}-redis"
    assert [g["SecurityGroupId"] for g in node["SecurityGroups"]] == [group_id(aws, stack, "redis")]
    return cluster, redis


def test_one_apply_converges_both_stacks_and_every_field_reads_back(cli: Cli, aws) -> None:
    cli("apply", "--yes", check=0)

    # The edge: an ALB in the public subnets, HTTPS to the app, HTTP redirected.
    prod_cert = "arn:aws:acm:us-east-1:123456789012:certificate/0b7c8a5e-acme-prod"
    tg_arn = check_edge(aws, PROD, prod_cert)
    check_edge(aws, STAGING, "arn:aws:acm:us-east-1:123456789012:certificate/5d1e2f3a-acme-staging")

    # The data tier, which the app's environment is wired from.
    cluster, redis = check_data(aws, PROD, backups=7, protected=True)
    check_data(aws, STAGING, backups=1, protected=False)
    master_secret = cluster["MasterUserSecret"]["SecretArn"]
    primary = redis["NodeGroups"][0]["PrimaryEndpoint"]

    # The image's home and the logs.
    (repo,) = aws.ecr.describe_repositories(repositoryNames=["acme-app"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["encryptionConfiguration"]["encryptionType"] == "AES256"
    lifecycle = json.loads(
        aws.ecr.get_lifecycle_policy(repositoryName="acme-app")["lifecyclePolicyText"]
    )
    (rule,) = lifecycle["rules"]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert rule["selection"]["countNumber"] == 30 and rule["action"]["type"] == "expire"
    (logs,) = [
        g
        for g in aws.logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{PROD}")["logGroups"]
        if g["logGroupName"] == f"/ecs/{PROD}"
    ]
    assert logs["retentionInDays"] == 30
    (staging_logs,) = aws.logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{STAGING}")[
        "logGroups"
    ]
    assert staging_logs["retentionInDays"] == 7

    # ECS: the cluster, the task definition with every wired variable, the service.
    (ecs_cluster,) = aws.ecs.describe_clusters(clusters=[PROD], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "enabled"} in ecs_cluster["settings"]
    task = aws.ecs.describe_task_definition(taskDefinition=f"{PROD}-app")["taskDefinition"]
    assert task["requiresCompatibilities"] == ["FARGATE"] and task["networkMode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("512", "1024")
    execution = aws.iam.get_role(RoleName=f"{PROD}-execution")["Role"]
    assert task["executionRoleArn"] == execution["Arn"]
    assert task["taskRoleArn"] == aws.iam.get_role(RoleName=f"{PROD}-task")["Role"]["Arn"]
    (container,) = task["containerDefinitions"]
    assert container["image"] == f"{repo['repositoryUri']}:1.4.2"
    assert [p["containerPort"] for p in container["portMappings"]] == [3000]
    log = container["logConfiguration"]
    assert log["logDriver"] == "awslogs" and log["options"]["awslogs-group"] == f"/ecs/{PROD}"
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["NODE_ENV"] == "production"
    assert env["DOCDB_HOST"] == cluster["Endpoint"]
    assert env["REDIS_URL"] == f"rediss://{primary['Address']}:6379" and primary["Port"] == 6379
    assert env["S3_BUCKET"] == f"{PROD}-storage" and env["AWS_REGION"] == "us-east-1"
    assert env["BEDROCK_MODEL_IDS"] == (
        "anthropic.claude-3-haiku-20240307-v1:0,amazon.titan-embed-text-v2:0,"
        "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    )
    assert env["AZURE_OPENAI_ENDPOINT"] == "https://acme-prod.openai.azure.com/"
    assert env["AZURE_OPENAI_DEPLOYMENT"] == "gpt-4o"
    azure_key = aws.secretsmanager.describe_secret(SecretId="acme/prod/azure-openai-key")["ARN"]
    assert {s["name"]: s["valueFrom"] for s in container["secrets"]} == {
        "AZURE_OPENAI_API_KEY": azure_key,
        "DOCDB_PASSWORD": f"{master_secret}:password::",
    }

    (service,) = aws.ecs.describe_services(cluster=PROD, services=[f"{PROD}-app"])["services"]
    assert service["taskDefinition"] == task["taskDefinitionArn"]
    assert service["desiredCount"] == 2 and service["launchType"] == "FARGATE"
    network = service["networkConfiguration"]["awsvpcConfiguration"]
    assert set(network["subnets"]) == subnet_ids(aws, PROD, "private")
    assert network["securityGroups"] == [group_id(aws, PROD, "app")]
    assert network["assignPublicIp"] == "DISABLED"
    (balancer,) = service["loadBalancers"]
    assert (balancer["targetGroupArn"], balancer["containerPort"]) == (tg_arn, 3000)
    breaker = service["deploymentConfiguration"]["deploymentCircuitBreaker"]
    assert breaker == {"enable": True, "rollback": True}
    (staging_service,) = aws.ecs.describe_services(cluster=STAGING, services=[f"{STAGING}-app"])[
        "services"
    ]
    assert staging_service["desiredCount"] == 1

    # The execution role may pull this image, write these logs, read exactly these secrets.
    policy = aws.iam.get_role_policy(RoleName=f"{PROD}-execution", PolicyName="start-task")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["PullImage"]["Resource"] == [repo["repositoryArn"]]
    assert "ecr:BatchGetImage" in statements["PullImage"]["Action"]
    log_arn = logs.get("logGroupArn") or logs["arn"].removesuffix(":*")
    assert statements["WriteLogs"]["Resource"] == [f"{log_arn}:log-stream:*"]
    assert statements["ReadTaskSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert sorted(statements["ReadTaskSecrets"]["Resource"]) == sorted([azure_key, master_secret])

    # Converged: a second run reads and writes nothing.
    cli("apply", "--yes", check=0)
    run = cli.latest_run()
    assert run["outcome"] == "no-changes"
    assert run["apiCalls"]["writes"] == 0 and writes(run) == {}, run["apiCalls"]["byOperation"]


def test_an_image_tag_change_rolls_the_service_with_one_new_revision(
    cli: Cli, aws, workdir: Path
) -> None:
    cli("apply", "--yes", check=0)
    family = f"{PROD}-app"

    edit_spec(workdir, 'tag: "1.4.2"', 'tag: "1.4.3"')
    cli("apply", "--yes", check=0)
    changed = writes(cli.latest_run())
    assert changed.pop("ecs:RegisterTaskDefinition", 0) == 1, "one new revision, not one per run"
    assert changed.pop("ecs:UpdateService", 0) == 1, "the service rolls onto it once"
    changed.pop("ecs:DeregisterTaskDefinition", None)  # the replaced revision may be retired
    assert changed == {}, "nothing else in either stack is touched"
    (service,) = aws.ecs.describe_services(cluster=PROD, services=[family])["services"]
    assert service["taskDefinition"].endswith(f":task-definition/{family}:2")
    new = aws.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    assert new["taskDefinition"]["containerDefinitions"][0]["image"].endswith(":1.4.3")
    old = aws.ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
    assert old["status"] == "INACTIVE"

    edit_spec(workdir, "desiredCount: 2", "desiredCount: 3")
    cli("apply", "--yes", check=0)
    assert writes(cli.latest_run()) == {"ecs:UpdateService": 1}, "a count is no new revision"
    (service,) = aws.ecs.describe_services(cluster=PROD, services=[family])["services"]
    assert service["desiredCount"] == 3
    assert service["taskDefinition"].endswith(f"{family}:2")


def test_no_secret_value_reaches_any_output(cli: Cli, aws, workdir: Path) -> None:
    cli("apply", "--yes", check=0)
    planted = "planted-azure-key-5a1b9c"
    aws.secretsmanager.put_secret_value(SecretId="acme/prod/azure-openai-key", SecretString=planted)
    (cluster,) = aws.docdb.describe_db_clusters(DBClusterIdentifier=f"{PROD}-docdb")["DBClusters"]
    master = aws.secretsmanager.get_secret_value(SecretId=cluster["MasterUserSecret"]["SecretArn"])
    password = json.loads(master["SecretString"])["password"]
    assert len(password) >= 8, "a real value to look for"

    runs = [
        cli("plan", check=0),
        cli("plan", "--format", "json", check=0),
        cli("plan", "--format", "markdown", check=0),
        cli("drift", check=0),
        cli("apply", "--yes", check=0),
        cli("history", check=0),
        # the loop's JSON log lines: every event of a cycle, the run's messages included
        cli(
            "run",
            "--once",
            "--repo",
            str(git_repo(workdir / "git", workdir / "specs")),
            "--log-format",
            "json",
            check=0,
        ),
    ]
    for fmt in ("json", "markdown", "html"):
        runs.append(cli("report", "--since", "2000-01-01", "--format", fmt, check=0))
        runs.append(cli("report", "latest", "--format", fmt, check=0))
        runs.append(cli("report", "latest", "--format", fmt, "-o", f"latest.{fmt}", check=0))
    assert all((workdir / f"latest.{fmt}").stat().st_size for fmt in ("json", "markdown", "html"))

    printed = "".join(r.stdout + r.stderr for r in runs)
    assert '"event": "run-sealed"' in printed, "the JSON log lines are searched"
    files = {p: p.read_bytes() for p in workdir.rglob("*") if p.is_file()}
    assert workdir / ".plumb" / "state.db" in files
    assert any(p.parent.name == "reports" for p in files), "the reports plumb keeps are searched"
    for value in (planted, password):
        assert value not in printed
        leaked = [
            str(p.relative_to(workdir)) for p, data in files.items() if value.encode() in data
        ]
        assert leaked == []


def test_losing_the_state_builds_no_second_copy_of_anything(cli: Cli, aws, workdir: Path) -> None:
    cli("apply", "--yes", check=0)
    (workdir / ".plumb" / "state.db").unlink()

    cli("apply", "--yes", check=0)
    run = cli.latest_run()
    assert run["counts"]["create"] == 0
    assert run["apiCalls"]["writes"] == 0 and writes(run) == {}, run["apiCalls"]["byOperation"]

    albs = aws.elbv2.describe_load_balancers()["LoadBalancers"]
    groups = aws.elbv2.describe_target_groups()["TargetGroups"]
    docdbs = aws.docdb.describe_db_clusters()["DBClusters"]
    redises = aws.elasticache.describe_replication_groups()["ReplicationGroups"]
    for stack in (PROD, STAGING):
        (alb,) = [a for a in albs if a["LoadBalancerName"].startswith(stack)]
        assert [g["TargetGroupName"] for g in groups if g["TargetGroupName"].startswith(stack)] == [
            f"{stack}-app"
        ]
        listeners = aws.elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])
        assert sorted(li["Port"] for li in listeners["Listeners"]) == [80, 443]
        services = aws.ecs.list_services(cluster=stack)["serviceArns"]
        assert len(services) == 1
        assert [
            c["DBClusterIdentifier"] for c in docdbs if c["DBClusterIdentifier"].startswith(stack)
        ] == [f"{stack}-docdb"]
        assert [
            g["ReplicationGroupId"] for g in redises if g["ReplicationGroupId"].startswith(stack)
        ] == [f"{stack}-redis"]
    assert len(albs) == len(groups) == len(docdbs) == len(redises) == 2
    assert len(aws.ecs.list_clusters()["clusterArns"]) == 2
