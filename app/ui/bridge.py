"""The only door between widgets and the backend.

The bridge lives in a worker thread: widgets call its slots through queued signals and get
answers back as signals, so the UI thread never waits on the engine, the disk or the network.
Model loads run on a separate loader thread so that Stop and Cancel still get through while
a model is loading. Token events arrive on the engine's pump thread and are re-emitted as
signals (Qt queues them to the UI thread); replies are saved as they grow, at most every
``SAVE_INTERVAL_S``.

Replies leave through ``core.router``: a local model's per-model fallback rule applies, and
a remote model (chosen in the picker) is sent OpenAI messages; remote model lists are fetched
on a thread of their own so a slow endpoint never holds up the chat.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.backend.attachments import AttachmentError, Extracted, read_attachment
from app.backend.chats import UNSET, ChatStore, ChatStoreError, Conversation, Message
from app.backend.chats.base import _Unset
from app.backend.context_policy import reply_reserve
from app.backend.core import HearthCore
from app.backend.engine.client import (
    EngineCallError,
    EngineClient,
    EngineLoadError,
    EngineNotReady,
    EngineStatus,
    RequestHandle,
)
from app.backend.engine.types import (
    EngineState,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    LoadParams,
    SamplingParams,
    TokenChunk,
)
from app.backend.gguf import GGUFError
from app.backend.library import LocalModel, ModelNotFound
from app.backend.privacy import LocalOnlyError
from app.backend.prompting import PromptBuilder, PromptError, prompt_builder_for
from app.backend.reasoning import split_reasoning
from app.backend.remote import RemoteError, RouteDecision, is_remote_id
from app.backend.settings import PerModelSettings, Settings
from app.backend.structured import SchemaError, check_reply, parse_schema, schema_to_grammar
from app.backend.templates import TemplateOverride, get_fallback
from app.ui.chat_bridge.actions import run_action
from app.ui.chat_bridge.history import as_history, choose_passages, prepare
from app.ui.chat_bridge.remote_chat import (
    RemoteChoices,
    ReplyTarget,
    cached_choices,
    choose_target,
    list_choices,
    openai_messages,
)

SAVE_INTERVAL_S = 0.25
#: At exit, how long a reply being written may take to end and be saved as stopped.
SHUTDOWN_WAIT_S = 2.0


@dataclass(frozen=True)
class TemplateInfo:
    """What the prompt-template dialog shows for the loaded model."""

    model_id: str
    mode: str
    source: str
    reason: str
    template: str
    override_mode: str | None
    has_override_template: bool


@dataclass
class _Reply:
    """A reply being streamed: where it is stored and what is not saved yet."""

    conversation_id: int
    message_id: int
    handle: RequestHandle | None = None
    unsaved: list[str] = field(default_factory=list)
    last_save: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    schema: str = ""
    text: str = ""
    started: float = field(default_factory=time.monotonic)
    reasoning_s: float | None = None


class Bridge(QObject):
    # --- answers (emitted from worker threads, delivered queued to the UI thread)
    models_listed = Signal(list)  # list[LocalModel]
    engine_changed = Signal(object)  # EngineStatus
    load_progress = Signal(float)
    prompt_mode_changed = Signal(str, str)  # mode, reason
    template_info = Signal(object)  # TemplateInfo for the loaded model
    plan_ready = Signal(str, dict, object, object)  # model id, overrides, LoadParams, Plan
    conversations_listed = Signal(list)  # list[Conversation]
    folders_listed = Signal(list)  # list[Folder]
    trash_listed = Signal(list)  # list[Conversation]
    search_results = Signal(str, list)  # query, list[SearchHit]
    presets_listed = Signal(list, object)  # list[Preset], default preset id for the model
    attachments_read = Signal(list, list)  # list[Extracted], list of refusals
    context_usage = Signal(int, int, int)  # conversation id, tokens used, context length
    exported = Signal(str)  # path written
    imported = Signal(object)  # Conversation
    conversation_opened = Signal(object, list)  # Conversation, list[Message]
    reply_started = Signal(int, int)  # conversation id, message id
    reply_chunk = Signal(int, str, int)  # message id, text, tokens
    reply_finished = Signal(int, object)  # message id, Message as stored
    remote_models_listed = Signal(object)  # RemoteChoices for the picker
    chat_target_changed = Signal(str)  # the remote model the chat uses, "" for none
    error = Signal(str)

    def __init__(self, core: HearthCore) -> None:
        super().__init__()
        self.core = core
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-loader")
        self._remote_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-remotes")
        self._listing = False  # a remote listing is running on the pool
        self._picked_id: str | None = None  # the local model shown in the picker
        self._reply: _Reply | None = None
        self._builder: PromptBuilder | None = None
        self._model: LocalModel | None = None  # the chat's model once loaded
        self._chat_model_id: str | None = None  # the chat's model, loading or loaded
        self.chat_status = EngineStatus(EngineState.EMPTY)  # last state reported to the UI
        self.engine_changed.connect(self._remember_status, Qt.ConnectionType.DirectConnection)
        core.engines.add_listener(self._on_engine_status)

    def _remember_status(self, status: EngineStatus) -> None:
        self.chat_status = status

    @property
    def chat_engine(self) -> EngineClient | None:
        """The engine serving the chat (None when no model is loaded for it)."""
        model_id = self._chat_model_id
        return self.core.engines.get(model_id) if model_id else None

    # ------------------------------------------------------------------ models
    @Slot()
    def list_models(self) -> None:
        self.models_listed.emit(self.core.library.scan())
        self.list_remote_models()

    @Slot()
    def list_remote_models(self) -> None:
        """The last remote listing at once, then a fresh one from a pool thread."""
        local_only = self.core.privacy.local_only
        if local_only and self._remote_target():
            self._drop_remote_target()
        self.remote_models_listed.emit(cached_choices(self.core.remotes, local_only))
        if local_only or self._listing or not self.core.remotes.endpoints():
            return
        self._listing = True

        def fetch() -> None:
            try:
                choices = list_choices(
                    self.core.remotes, self.core.privacy.local_only, self.remote_models_listed.emit
                )
            except Exception as exc:  # a listing must never take the bridge down
                choices = RemoteChoices(errors={"*": f"Could not list remote models: {exc}"})
            finally:
                self._listing = False
            self.remote_models_listed.emit(choices)

        self._remote_pool.submit(fetch)

    @Slot(str)
    def pick_model(self, model_id: str) -> None:
        """The local model shown in the picker: answers (by its fallback) when none is loaded."""
        self._picked_id = model_id or None

    @Slot(str)
    def use_remote(self, model_id: str) -> None:
        """Chat with a remote model: nothing to load, ready at once."""
        try:
            self.core.remotes.engine(model_id)  # checks the endpoint and Local only; no network
        except (RemoteError, LocalOnlyError) as exc:
            self.error.emit(str(exc))
            return
        previous = self._chat_model_id
        self._chat_model_id = model_id
        self._model = None
        self._builder = None
        if previous and previous != model_id and not is_remote_id(previous):
            self._loader.submit(self.core.engines.unload, previous)
        self.chat_target_changed.emit(model_id)
        self.engine_changed.emit(EngineStatus(EngineState.READY, message=model_id))

    def _remote_target(self) -> str | None:
        model_id = self._chat_model_id
        return model_id if model_id and is_remote_id(model_id) else None

    def _drop_remote_target(self) -> None:
        self._chat_model_id = None
        self.chat_target_changed.emit("")
        self.engine_changed.emit(EngineStatus(EngineState.EMPTY))

    @Slot(str)
    def load_model(self, model_id: str) -> None:
        try:
            model = self.core.library.resolve(model_id)
        except ModelNotFound as exc:
            self.error.emit(str(exc))
            return
        self._loader.submit(self._load, model)

    @Slot(str, dict)
    def plan_load(self, model_id: str, overrides: dict) -> None:
        """Plan a load for the load dialog (reads the header: off the UI thread)."""

        def plan() -> None:
            try:
                model = self.core.library.resolve(model_id)
                params, load_plan = self.core.engines.plan(model, overrides)
            except (ModelNotFound, GGUFError) as exc:
                self.error.emit(str(exc))
                return
            self.plan_ready.emit(model_id, overrides, params, load_plan)

        self._loader.submit(plan)

    @Slot(str, dict, bool)
    def load_model_with(self, model_id: str, overrides: dict, remember: bool) -> None:
        """Load with the user's choices from the load dialog, remembered per model."""
        try:
            model = self.core.library.resolve(model_id)
        except ModelNotFound as exc:
            self.error.emit(str(exc))
            return
        if remember:

            def save(settings: Settings) -> None:
                settings.per_model.setdefault(model_id, PerModelSettings()).load = dict(overrides)

            try:
                self.core.settings_store.update(save)
            except Exception as exc:
                self.error.emit(f"Could not remember the load settings: {exc}")

        def load_planned() -> None:
            try:
                params, _plan = self.core.engines.plan(model, overrides)
            except GGUFError as exc:
                self.engine_changed.emit(
                    EngineStatus(EngineState.ERROR, model.path, None, str(exc))
                )
                return
            self._load(model, params)

        self._loader.submit(load_planned)

    def _load(self, model: LocalModel, params: LoadParams | None = None) -> None:
        previous = self._chat_model_id
        self._chat_model_id = model.id
        self._model = None
        self._builder = None
        if previous and is_remote_id(previous):
            self.chat_target_changed.emit("")
        elif previous and previous != model.id:
            self.core.engines.unload(previous)
        try:
            engine = self.core.engines.load(model, params, on_progress=self.load_progress.emit)
        except EngineLoadError as exc:
            if self._chat_model_id == model.id:
                self.engine_changed.emit(
                    EngineStatus(EngineState.ERROR, model.path, None, str(exc))
                )
            return
        except Exception as exc:
            self.error.emit(f"Could not load {model.id}: {exc}")
            return
        if self._chat_model_id != model.id:
            return  # the user picked another model meanwhile
        self._model = model
        self._rebuild_prompt(engine.status.info, self.core.template_override(model.id))
        self.engine_changed.emit(engine.status)

    def _rebuild_prompt(self, info: Any, override: TemplateOverride | None) -> bool:
        assert self._model is not None
        try:
            builder = prompt_builder_for(self._model.path, info, override)
            builder.validate()
        except PromptError as exc:
            self.error.emit(str(exc))
            return False
        self._builder = builder
        self.prompt_mode_changed.emit(builder.mode, builder.reason)
        return True

    @Slot()
    def request_template_info(self) -> None:
        builder, model = self._builder, self._model
        if self._remote_target():
            self.error.emit("A remote model is prompted with its server's own chat template.")
            return
        if builder is None or model is None:
            self.error.emit("Load a model first to see or change its prompt template.")
            return
        choice = builder.choice
        template = choice.template or get_fallback(choice.fallback_family or "chatml").template
        override = self.core.template_override(model.id)
        self.template_info.emit(
            TemplateInfo(
                model_id=model.id,
                mode=choice.mode,
                source=choice.source,
                reason=choice.reason,
                template=template,
                override_mode=override.mode if override else None,
                has_override_template=bool(override and override.template),
            )
        )

    @Slot(str, str, str)
    def set_template_override(self, model_id: str, mode: str, template: str) -> None:
        """Per-model mode ("auto", "chat", "completion") and template ("" keeps the model's)."""
        if self._model is None or self._model.id != model_id:
            self.error.emit("That model is no longer loaded.")
            return
        override = TemplateOverride(
            mode=mode if mode in ("chat", "completion") else None,  # type: ignore[arg-type]
            template=template or None,
        )
        engine = self.chat_engine
        if engine is None or not self._rebuild_prompt(engine.status.info, override):
            return  # refused template: nothing saved, the previous choice stays

        def remember(settings: Settings) -> None:
            entry = settings.per_model.setdefault(model_id, PerModelSettings())
            entry.template_mode = override.mode
            entry.template_override = override.template

        try:
            self.core.settings_store.update(remember)
        except Exception as exc:
            self.error.emit(f"Could not save the template choice: {exc}")
        self.request_template_info()

    @Slot()
    def cancel_load(self) -> None:
        if self._chat_model_id:
            self.core.engines.cancel_load(self._chat_model_id)

    @Slot()
    def unload_model(self) -> None:
        model_id = self._chat_model_id
        if model_id and is_remote_id(model_id):
            self._drop_remote_target()
        elif model_id:
            self._loader.submit(self.core.engines.unload, model_id)

    def _on_engine_status(self, model_id: str, status: EngineStatus) -> None:
        if model_id != self._chat_model_id:
            return
        if status.state is EngineState.READY and self._model is None:
            return  # still loading for the chat: ``_load`` says READY once the prompt is built
        self.engine_changed.emit(status)

    # ------------------------------------------------------------ conversations
    def _list(self) -> None:
        chats = self.core.chats
        self.folders_listed.emit(chats.list_folders())
        self.conversations_listed.emit(chats.list_conversations())

    @Slot()
    def list_conversations(self) -> None:
        self._guarded(self._list)

    @Slot()
    def new_conversation(self) -> None:
        def create() -> None:
            preset = self.core.chats.default_preset_for(self._model.id) if self._model else None
            if preset is not None:
                conversation = self.core.chats.create_conversation(
                    system_prompt=preset.system_prompt,
                    sampling=preset.sampling,
                    options=preset.options,
                )
            else:
                conversation = self.core.chats.create_conversation()
            self._list()
            self.conversation_opened.emit(conversation, [])

        self._guarded(create)

    @Slot(int)
    def open_conversation(self, conversation_id: int) -> None:
        def open_() -> None:
            conversation = self.core.chats.get_conversation(conversation_id)
            if conversation is not None:
                messages = self.core.chats.messages(conversation_id)
                self.conversation_opened.emit(conversation, messages)
                self._report_context(conversation, messages)

        self._guarded(open_)

    @Slot(int, str)
    def rename_conversation(self, conversation_id: int, title: str) -> None:
        def rename() -> None:
            self.core.chats.rename_conversation(conversation_id, title)
            self._list()

        self._guarded(rename)

    @Slot(int)
    def delete_conversation(self, conversation_id: int) -> None:
        """Moves the chat to the trash (restorable)."""

        def delete() -> None:
            self.core.chats.trash_conversation(conversation_id)
            self._list()
            self.trash_listed.emit(self.core.chats.list_trash())

        self._guarded(delete)

    @Slot(str, dict)
    def chat_action(self, name: str, args: dict) -> None:
        """Organising chats, presets, search, export/import (see ``chat_bridge.actions``)."""
        self._guarded(lambda: run_action(self, name, args))

    @Slot(int, str, object)
    def save_chat_settings(self, conversation_id: int, system_prompt: str, sampling: Any) -> None:
        self._guarded(
            lambda: self.core.chats.update_conversation_settings(
                conversation_id, system_prompt=system_prompt, sampling=sampling
            )
        )

    @Slot(list)
    def read_attachments(self, paths: list) -> None:
        """Read files off the UI thread; each file is attached or refused with a reason."""
        read: list[Extracted] = []
        problems: list[str] = []
        for path in paths:
            try:
                read.append(read_attachment(Path(path)))
            except AttachmentError as exc:
                problems.append(str(exc))
        self.attachments_read.emit(read, problems)

    def _report_context(self, conversation: Conversation, messages: list[Message]) -> None:
        engine, builder = self.chat_engine, self._builder
        if engine is None or builder is None or engine.status.info is None:
            self.context_usage.emit(conversation.id, 0, 0)
            return
        try:
            used = self._count(as_history(messages), conversation.system_prompt)
        except (PromptError, EngineCallError, EngineNotReady, OSError, TimeoutError):
            return
        self.context_usage.emit(conversation.id, used, engine.status.info.n_ctx)

    def _count(self, history: list[dict[str, Any]], system_prompt: str) -> int:
        engine, builder = self.chat_engine, self._builder
        assert engine is not None and builder is not None
        rendered = builder.render(history, system_prompt=system_prompt)
        return len(engine.tokenize(rendered.text, add_bos=not rendered.starts_with_bos))

    # ------------------------------------------------------------------ replies
    @Slot(int, str, str, object, object, list)
    def send(
        self,
        conversation_id: int,
        text: str,
        system_prompt: str,
        sampling: Any,
        options: Any = None,
        attachments: list | None = None,
    ) -> None:
        """Store the user's message (with its files) and start a reply to it."""

        def send_() -> None:
            chats = self.core.chats
            changes: dict[str, Any] = {"system_prompt": system_prompt, "sampling": sampling}
            if options is not None:
                changes["options"] = options
            chats.update_conversation_settings(conversation_id, **changes)
            if text.strip() or attachments:
                message = chats.add_message(conversation_id, "user", text)
                for file in attachments or []:
                    chats.add_attachment(message.id, file.name, file.kind, file.size, file.text)
                conversation = chats.get_conversation(conversation_id)
                if conversation is not None and conversation.title == "New chat":
                    title = _title_from(
                        text or (attachments or [Extracted("file", "", 0, "")])[0].name
                    )
                    chats.rename_conversation(conversation_id, title)
                    self._list()
            self._start_reply(conversation_id)

        self._guarded(send_)

    @Slot(int, str, object)
    def regenerate(self, conversation_id: int, system_prompt: str, sampling: Any) -> None:
        """Write the last reply again; the old one stays as another version."""

        def regenerate_() -> None:
            self.core.chats.update_conversation_settings(
                conversation_id, system_prompt=system_prompt, sampling=sampling
            )
            messages = self.core.chats.messages(conversation_id)
            if messages and messages[-1].role == "assistant":
                self._start_reply(conversation_id, parent_id=messages[-1].parent_id)
            else:
                self._start_reply(conversation_id)

        self._guarded(regenerate_)

    @Slot(str, int, str)
    def message_action(self, name: str, message_id: int, text: str) -> None:
        """regenerate / continue / delete / previous / next / edit one message."""
        self._guarded(lambda: self._message_action(name, message_id, text))

    def _message_action(self, name: str, message_id: int, text: str) -> None:
        chats = self.core.chats
        message = chats.get_message(message_id)
        if message is None:
            return
        conversation_id = message.conversation_id
        if name == "regenerate":
            self._start_reply(conversation_id, parent_id=message.parent_id)
            return
        if name == "continue":
            self._start_reply(conversation_id, continue_id=message_id)
            return
        if name == "delete":
            if self._reply is not None and self._reply.message_id == message_id:
                self.error.emit("Stop the reply before deleting it.")
                return
            chats.delete_message(message_id)
        elif name in ("previous", "next"):
            versions = chats.alternative_ids(message_id)
            at = versions.index(message_id) + (1 if name == "next" else -1)
            if 0 <= at < len(versions):
                chats.select_alternative(versions[at])
        elif name == "edit":
            edited = chats.edit_message(message_id, text)
            if message.role == "user":
                self._start_reply(conversation_id, parent_id=edited.id)
                return
        self.open_conversation(conversation_id)

    @Slot()
    def stop(self) -> None:
        reply = self._reply
        handle = reply.handle if reply is not None else None
        if handle is None:
            return
        route = getattr(handle, "route", None)
        if route is not None and route.engine != "local":
            # Closing a remote stream's socket may wait on its connection: never on the UI
            # thread, which calls this directly.
            threading.Thread(target=handle.cancel, name="hearth-stop", daemon=True).start()
        else:
            handle.cancel()

    def _start_reply(
        self,
        conversation_id: int,
        *,
        parent_id: int | _Unset | None = UNSET,
        continue_id: int | None = None,
    ) -> None:
        if self._reply is not None:
            self.error.emit("A reply is already being written; stop it first.")
            return
        conversation = self.core.chats.get_conversation(conversation_id)
        target = self._target()
        if target is None or conversation is None:
            self.error.emit("No model is loaded. Choose a model at the top and press Load.")
            self.open_conversation(conversation_id)
            return
        path = self.core.chats.messages(conversation_id)
        prefix = ""
        if continue_id is not None:
            ids = [m.id for m in path]
            if continue_id not in ids:
                return
            target_message = path[ids.index(continue_id)]
            prefix = target_message.content
            path = path[: ids.index(continue_id)]
        elif not isinstance(parent_id, _Unset):
            ids = [m.id for m in path]
            path = path[: ids.index(parent_id) + 1] if parent_id in ids else []
        if target.kind == "local":
            prepared = self._prepare_local(conversation, path, prefix)
        else:
            prepared = self._prepare_remote(conversation, path, continue_id)
        if prepared is None:
            self.open_conversation(conversation_id)
            return
        request, messages = prepared
        if continue_id is not None:
            message = self.core.chats.reopen_reply(continue_id)
        else:
            message = self.core.chats.begin_reply(
                conversation_id, target.model_id, parent_id=parent_id
            )
        reply = _Reply(conversation_id, message.id, schema=conversation.options.json_schema)
        reply.text = prefix
        self._reply = reply
        self.open_conversation(conversation_id)
        self.reply_started.emit(conversation_id, message.id)
        try:
            # The router accounts usage (source "chat") under the engine that answers.
            reply.handle = self.core.router.submit(
                target.model_id,
                request,
                messages=messages,
                on_event=self._on_event,
                on_route=lambda decision: self._on_route(reply, decision),
                source="chat",
            )
        except (EngineNotReady, RemoteError, LocalOnlyError) as exc:
            self._finish(reply, "error", error=str(exc))

    def _target(self) -> ReplyTarget | None:
        local_ready = (
            self._builder is not None and self._model is not None and self.chat_engine is not None
        )
        return choose_target(
            self._chat_model_id,
            local_ready,
            self._picked_id,
            lambda model_id: self.core.settings_store.load().fallback.get(model_id),
        )

    def _prepare_local(
        self, conversation: Conversation, path: list[Message], prefix: str
    ) -> tuple[GenerationRequest, list[dict[str, Any]]] | None:
        """The loaded model's prompt, and the same chat as messages in case it falls back."""
        engine, builder = self.chat_engine, self._builder
        assert engine is not None and builder is not None
        system_prompt = conversation.system_prompt
        n_ctx = engine.status.info.n_ctx if engine.status.info else 4096
        budget = n_ctx - reply_reserve(n_ctx, conversation.sampling.max_tokens)

        def count(history: list[dict[str, Any]]) -> int:
            return self._count(history, system_prompt)

        try:
            grammar = self._grammar(conversation.options.json_schema)
            if path and path[-1].role == "user" and path[-1].attachments:
                citations = choose_passages(path[-1], path[:-1], count, budget, engine.embed)
                if citations:
                    self.core.chats.update_meta(path[-1].id, citations=citations)
                    path[-1].meta["citations"] = citations
            fit = prepare(path, count, budget, conversation.options.overflow_policy)
            if fit.overflow:
                self.error.emit(
                    f"This chat no longer fits in the model's context ({fit.tokens} of"
                    f" {budget} tokens). Start a new chat, shorten the message, or choose"
                    " 'Truncate middle' or 'Rolling window' under Context overflow."
                )
                return None
            rendered = builder.render(fit.messages, system_prompt=system_prompt)
        except (PromptError, SchemaError) as exc:
            self.error.emit(str(exc))
            return None
        except (EngineCallError, EngineNotReady, TimeoutError, OSError) as exc:
            self.error.emit(f"The model could not read the chat: {exc}")
            return None
        if fit.dropped:
            self.error.emit(
                f"The chat is longer than the context: {fit.dropped} earlier message(s) were left"
                " out of this reply (the chat itself is unchanged)."
            )
        sampling = conversation.sampling
        sampling = SamplingParams.from_dict(
            {**sampling.to_dict(), "stop": [*sampling.stop, *rendered.stop]}
        )
        request = GenerationRequest(
            rendered.text + prefix,
            sampling,
            add_bos=not rendered.starts_with_bos,
            grammar=grammar,
        )
        return request, openai_messages(system_prompt, fit.messages)

    def _prepare_remote(
        self, conversation: Conversation, path: list[Message], continue_id: int | None
    ) -> tuple[GenerationRequest, list[dict[str, Any]]] | None:
        """OpenAI messages for a remote model (it applies its own template)."""
        if continue_id is not None:
            self.error.emit(
                "Continue works with local models only: a remote model cannot be asked to go"
                " on from part of a reply. Use Regenerate instead."
            )
            return None
        if conversation.options.json_schema.strip():
            self.error.emit(
                "A remote model is not held to the JSON schema: its reply is only checked"
                " against it."
            )
        messages = openai_messages(conversation.system_prompt, as_history(path))
        # The prompt is never sent: a remote gets ``messages`` on /chat/completions.
        return GenerationRequest("", conversation.sampling), messages

    def _on_route(self, reply: _Reply, decision: RouteDecision) -> None:
        """Runs where the router decides (this thread, or a timer/engine thread later)."""
        if not decision.fell_back:
            return
        notice = decision.notice()
        try:
            self.core.chats.update_meta(
                reply.message_id, route_notice=notice, answered_by=decision.model_id
            )
        except ChatStoreError as exc:
            self.error.emit(str(exc))
        self.error.emit(notice)  # the chat's notice line, at once; under the reply when done

    def _grammar(self, schema_text: str) -> str | None:
        if not schema_text.strip():
            return None
        return schema_to_grammar(parse_schema(schema_text))

    def _on_event(self, event: Event) -> None:
        """Runs on the engine's pump thread."""
        reply = self._reply
        if reply is None:
            return
        if isinstance(event, TokenChunk):
            self.reply_chunk.emit(reply.message_id, event.text, event.n_tokens)
            with reply.lock:
                reply.unsaved.append(event.text)
                reply.text += event.text
            if reply.reasoning_s is None:
                split = split_reasoning(reply.text)
                if split.has_reasoning and not split.thinking:
                    reply.reasoning_s = time.monotonic() - reply.started
            if time.monotonic() - reply.last_save >= SAVE_INTERVAL_S:
                self._save_partial(reply)
        elif isinstance(event, Finished):
            status = "cancelled" if event.stop_reason == "cancelled" else "complete"
            self._finish(reply, status, event)
        elif isinstance(event, Failed):
            status = "interrupted" if event.engine_crashed else "error"
            self._finish(reply, status, error=event.message)

    def _save_partial(self, reply: _Reply) -> None:
        with reply.lock:
            text = "".join(reply.unsaved)
            reply.unsaved.clear()
            reply.last_save = time.monotonic()
        if text:
            try:
                self.core.chats.append_reply(reply.message_id, text)
            except ChatStoreError as exc:
                self.error.emit(str(exc))

    def _finish(
        self, reply: _Reply, status: str, event: Finished | None = None, error: str | None = None
    ) -> None:
        self._save_partial(reply)
        self._reply = None
        try:
            self.core.chats.finish_reply(
                reply.message_id,
                status=status,  # type: ignore[arg-type]
                stats=event.stats if event else None,
                stop_reason=event.stop_reason if event else None,
                error=error,
            )
            extras: dict[str, Any] = {}
            if reply.reasoning_s is not None:
                extras["reasoning_s"] = round(reply.reasoning_s, 1)
            if reply.schema.strip() and status == "complete":
                try:
                    schema = parse_schema(reply.schema)
                    answer = split_reasoning(reply.text).answer or reply.text
                    extras["json_pretty"], extras["json_error"] = check_reply(answer, schema)
                except SchemaError as exc:
                    extras["json_error"] = str(exc)
            if extras:
                self.core.chats.update_meta(
                    reply.message_id, **{k: v for k, v in extras.items() if v is not None}
                )
            stored = self.core.chats.get_message(reply.message_id)
        except ChatStoreError as exc:
            self.error.emit(str(exc))
            stored = None
        self.reply_finished.emit(reply.message_id, stored)

    # ------------------------------------------- what chat_bridge.actions needs
    @property
    def chats(self) -> ChatStore:
        return self.core.chats

    def emit_list(self) -> None:
        self._list()

    def emit_trash(self) -> None:
        self.trash_listed.emit(self.core.chats.list_trash())
        self._list()

    def emit_presets(self) -> None:
        model = self._model
        default = self.core.chats.default_preset_for(model.id) if model else None
        self.presets_listed.emit(self.core.chats.list_presets(), default.id if default else None)

    def emit_search(self, query: str) -> None:
        self.search_results.emit(query, self.core.chats.search(query))

    def emit_error(self, text: str) -> None:
        self.error.emit(text)

    def emit_exported(self, path: str) -> None:
        self.exported.emit(path)

    def emit_imported(self, conversation: object) -> None:
        self.imported.emit(conversation)

    def current_model_id(self) -> str | None:
        return self._model.id if self._model else self._remote_target()

    # ----------------------------------------------------------------- teardown
    def shutdown(self) -> None:
        """Called from the UI thread at exit, after the bridge thread has stopped."""
        reply = self._reply
        if reply is not None and reply.handle is not None:
            # Cancel here (not on a thread) and let the reply be saved before the store closes.
            reply.handle.cancel()
            deadline = time.monotonic() + SHUTDOWN_WAIT_S
            while self._reply is not None and time.monotonic() < deadline:
                time.sleep(0.01)
        self._loader.shutdown(wait=False, cancel_futures=True)
        self._remote_pool.shutdown(wait=False, cancel_futures=True)
        self.core.close()

    def _guarded(self, action: Any) -> None:
        try:
            action()
        except ChatStoreError as exc:
            self.error.emit(str(exc))
        except (ValueError, KeyError) as exc:  # a request the UI should not have sent
            self.error.emit(f"That did not work: {exc}")


def _title_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "New chat"
    return first_line[:60] + ("…" if len(first_line) > 60 else "")
