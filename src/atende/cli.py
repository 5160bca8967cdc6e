"""`atende`: serve, migrate, users, tokens, retention, demo (contract.md), reports rebuild."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select

from atende.actions import users as user_actions
from atende.actions.errors import ActionError
from atende.backup import BackupError
from atende.db.migrate import upgrade
from atende.db.tables import api_tokens, users
from atende.db.types import utcnow
from atende.logs import configure_logging
from atende.ports import exit_if_port_taken
from atende.runtime import Runtime
from atende.settings import Settings, get_settings

DEFAULT_ADMIN = "admin@atende.local"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="atende", description="atende: contact center omnichannel")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--role", choices=("all", "web", "worker"), default="all")
    serve.add_argument("--workers", type=int, default=1, help="web processes (PostgreSQL only)")
    serve.add_argument("--setup", action="store_true",
                       help="first apply migrations and create a first admin if there is none (scripts/run)")

    sub.add_parser("migrate", help="apply database migrations")

    users_p = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    create = users_p.add_parser("create")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=user_actions.ROLES, required=True)
    users_p.add_parser("ensure-admin", help="create a first admin if there is no user, and say how to log in")

    tokens_p = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_command", required=True)
    tcreate = tokens_p.add_parser("create")
    tcreate.add_argument("--email", required=True)
    tcreate.add_argument("--name", default="cli")
    tcreate.add_argument("--expires-days", type=int, default=None, help="valid for this many days (default: no expiry)")
    tlist = tokens_p.add_parser("list", help="list tokens (never their secret)")
    tlist.add_argument("--email", default=None, help="only this user's tokens")
    trevoke = tokens_p.add_parser("revoke", help="revoke a token by id: it gets 401 at once")
    trevoke.add_argument("id", type=int)

    retention_p = sub.add_parser("retention", help="LGPD retention policy").add_subparsers(
        dest="retention_command", required=True)
    rrun = retention_p.add_parser("run", help="apply the retention policy now and print what left")
    rrun.add_argument("--dry-run", action="store_true", help="only print what would leave")

    from atende.integrations.odoo.chatroom_cli import add_arguments as add_import

    add_import(sub)  # atende import chatroom …

    demo = sub.add_parser("demo", help="start with sandbox connectors and simulated customers")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--rate", type=float, default=0.2, help="simulated customer messages per second")

    reports_p = sub.add_parser("reports", help="dashboard and report counters").add_subparsers(
        dest="reports_command", required=True)
    reports_p.add_parser("rebuild", help="recount the report counters from the messages and attendances "
                                         "(after an upgrade or an import; stop the service first)")

    backup = sub.add_parser("backup", help="archive the database and the media folder (online, while serving)")
    backup.add_argument("--output", "-o", default="backups", help="a directory (default: ./backups) or a file name")
    restore = sub.add_parser("restore", help="restore an archive made by `atende backup`, then migrate")
    restore.add_argument("archive")
    restore.add_argument("--force", action="store_true", help="replace an existing database")
    return p


def _backup(args: argparse.Namespace) -> None:
    from pathlib import Path

    from atende.backup import create_backup

    output = Path(args.output)
    if not output.suffix:
        output.mkdir(parents=True, exist_ok=True)
    info = create_backup(get_settings(), output)
    print(f"backup criado: {info.path} ({info.database}, {info.media_files} arquivos de mídia)\n"
          "guarde também a chave secreta (ATENDE_SECRET_KEY ou var/secret.key): ela não vai no backup")


def _restore(args: argparse.Namespace) -> None:
    from pathlib import Path

    from atende.backup import restore_backup

    done = restore_backup(get_settings(), Path(args.archive), force=args.force)
    asyncio.run(_with_runtime(lambda rt: asyncio.sleep(0)))  # bring an older archive up to this version
    print(f"restaurado: {args.archive} (backup de {done['created_at']}, {done['media_restored']} arquivos de mídia)")


async def _with_runtime(fn, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    rt = Runtime.create(settings or get_settings())
    try:
        await upgrade(rt.engine, secret_key=rt.settings.resolved_secret_key())
        await rt.bus.start()  # actions publish after commit, on Redis too
        return await fn(rt)
    finally:
        await rt.close()


async def _rebuild_reports(rt: Runtime) -> None:
    from atende.actions.rollups_rebuild import rebuild

    async with rt.write() as tx:
        counts = await rebuild(tx)
    print(f"contadores refeitos: {counts['activity']} linhas por hora, {counts['daily']} por dia, "
          f"{counts['attendances']} atendimentos")


async def _create_user(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.write() as tx:
        user_id = await user_actions.create_user(tx, email=args.email, password=args.password, name=args.name,
                                                 role=args.role)
    print(f"usuário {args.email} criado (id {user_id}, papel {args.role})")


async def _ensure_admin(rt: Runtime) -> None:
    url = rt.settings.public_url
    async with rt.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(users))
    if count:
        print(f"Entre em {url} com um usuário existente (crie outro com `atende users create`).")
        return
    password = secrets.token_urlsafe(12)
    async with rt.write() as tx:
        await user_actions.create_user(tx, email=DEFAULT_ADMIN, password=password, name="Administrador",
                                       role="admin")
    print(f"Primeiro acesso: {url}\n  e-mail: {DEFAULT_ADMIN}\n  senha:  {password}\n"
          "(guarde esta senha: ela não será mostrada de novo)")


async def _create_token(rt: Runtime, args: argparse.Namespace) -> None:
    expires = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
    async with rt.write() as tx:
        user_id = await user_actions.user_id_by_email(tx, args.email)
        _id, token = await user_actions.issue_api_token(tx, user_id, name=args.name, expires_at=expires)
    print(token)


async def _list_tokens(rt: Runtime, args: argparse.Namespace) -> None:
    stmt = select(api_tokens, users.c.email).select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id)) \
        .order_by(api_tokens.c.id)
    if args.email:
        stmt = stmt.where(users.c.email == args.email.strip().lower())
    async with rt.read() as conn:
        rows = list(await conn.execute(stmt))
    print(f"{'id':>5}  {'usuário':<30} {'nome':<20} {'criado':<16} {'último uso':<16} {'expira':<16} estado")
    for r in rows:
        state = "revogado" if r.revoked_at else "expirado" if r.expires_at and r.expires_at <= utcnow() else "ativo"
        print(f"{r.id:>5}  {r.email:<30} {r.name:<20} {_when(r.created_at):<16} {_when(r.last_used_at):<16} "
              f"{_when(r.expires_at):<16} {state}")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


async def _revoke_token(rt: Runtime, args: argparse.Namespace) -> None:
    async with rt.write() as tx:
        await user_actions.revoke_api_token(tx, args.id, actor_id=None, actor_is_admin=True)
    print(f"token {args.id} revogado")


RETENTION_LABELS = (
    ("messages", "mensagens (conteúdo removido, esqueleto mantido)"),
    ("media", "arquivos de mídia"),
    ("events", "eventos"),
    ("jobs", "tarefas concluídas"),
    ("held", "mantidas por retenção legal"),
)


async def _retention_run(rt: Runtime, args: argparse.Namespace) -> None:
    from atende.actions import retention

    report = await retention.run(rt, dry_run=args.dry_run)
    counts = report.counts()
    print("retenção: simulação (nada foi removido)" if args.dry_run else "retenção aplicada")
    verb = "sairiam" if args.dry_run else "removidos"
    for key, label in RETENTION_LABELS:
        print(f"  {label:<50} {counts[key]:>10}" + ("" if key == "held" else f"  {verb}"))


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from atende.gc_tuning import tune_for_serving

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.role != "worker":
        exit_if_port_taken(args.host, args.port, "scripts/run" if args.setup else "atende serve")
    if not settings.secret_key:
        print("aviso: ATENDE_SECRET_KEY não definido; usando a chave gerada em var/secret.key "
              "(guarde-a: sem ela os tokens dos conectores não podem ser lidos)", file=sys.stderr)
    if "ATENDE_PUBLIC_URL" not in os.environ:
        # Webhook URLs and login hints follow where the service really listens.
        settings = settings.model_copy(update={"public_url": f"http://{args.host}:{args.port}"})
    if args.workers > 1 and settings.is_sqlite:
        sys.exit("vários processos web exigem PostgreSQL (ATENDE_DATABASE_URL)")
    if args.setup:  # the login hint names the address really served, after the port check above
        asyncio.run(_with_runtime(_ensure_admin, settings))
    if args.role == "worker":
        from atende.jobs.run import run_worker

        tune_for_serving()
        asyncio.run(run_worker(settings))
        return
    from atende.app import create_app

    if args.workers > 1:
        os.environ["ATENDE_ROLE"] = args.role
        uvicorn.run("atende.asgi:app", host=args.host, port=args.port, workers=args.workers, proxy_headers=True,
                    access_log=False)
    else:
        # Access lines are noise at webhook rates; structlog records what matters.
        app = create_app(settings, role=args.role)
        tune_for_serving()
        uvicorn.run(app, host=args.host, port=args.port, proxy_headers=True, access_log=False)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            _serve(args)
        elif args.command == "migrate":
            asyncio.run(_with_runtime(lambda rt: asyncio.sleep(0)))
            print("migrações aplicadas")
        elif args.command == "users" and args.users_command == "create":
            asyncio.run(_with_runtime(lambda rt: _create_user(rt, args)))
        elif args.command == "users" and args.users_command == "ensure-admin":
            asyncio.run(_with_runtime(_ensure_admin))
        elif args.command == "tokens":
            action = {"create": _create_token, "list": _list_tokens, "revoke": _revoke_token}[args.tokens_command]
            asyncio.run(_with_runtime(lambda rt: action(rt, args)))
        elif args.command == "retention":
            asyncio.run(_with_runtime(lambda rt: _retention_run(rt, args)))
        elif args.command == "demo":
            from atende.demo import run_demo

            run_demo(host=args.host, port=args.port, rate=args.rate)
        elif args.command == "import":
            from atende.integrations.odoo.chatroom_cli import run as run_import

            code = asyncio.run(_with_runtime(lambda rt: run_import(rt, args)))
            if code:
                sys.exit(code)
        elif args.command == "reports":
            asyncio.run(_with_runtime(_rebuild_reports))
        elif args.command == "backup":
            _backup(args)
        elif args.command == "restore":
            _restore(args)
    except BackupError as exc:
        sys.exit(f"erro: {exc}")
    except ActionError as exc:
        sys.exit(f"erro: {exc.detail}")


if __name__ == "__main__":
    main()
