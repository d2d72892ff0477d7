from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/app.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    l_0_lay = resolve('lay')
    l_0_lay_out = resolve('lay_out')
    l_0_resources_list = resolve('resources_list')
    try:
        t_1 = environment.filters['comment']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'comment' found.")
    try:
        t_2 = environment.filters['doc']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'doc' found.")
    try:
        t_3 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_4 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_5 = environment.filters['map']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'map' found.")
    try:
        t_6 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_7 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    try:
        t_8 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    template = environment.get_template('generated/_header.jinja', 'generated/app.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '"""Startup code of the '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service'))
    yield ' service.\n\nEvery connection, resource, consumer, publisher, task, schedule and route is\nconstructed here with its literal settings from service.yaml and handed to the\nApplication.\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'):
        pass
        yield '\n'
        yield str(t_2(t_7(environment, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'), 84)))
        yield '\n'
    yield '"""\n\n'
    l_1_sections = environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'app_imports')
    pass
    template = environment.get_template('generated/_imports.jinja', 'generated/app.py.jinja')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {'sections': l_1_sections}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    l_1_sections = missing
    yield '\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'BROKERS: tuple[str, ...] = (', t_5(context, t_5(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), attribute='name'), 'py'), ')', split='always', one_tuple=True))
    yield '\n"""The broker connections by name; ``build_app(brokers=...)`` may replace them."""\n\n\ndef build_app(\n    *,\n    settings: Settings | None = None,\n    brokers: Mapping[str, Broker] | None = None,\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        pass
        yield '    idempotency: IdempotencyStore | None = None,\n'
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '    '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ': '
        yield str(environment.getattr(l_1_r, 'protocol'))
        yield ' | None = None,\n'
    l_1_r = missing
    yield '    handle_signals: bool = True,\n) -> Application:\n    """Construct the '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service'))
    yield ' service, ready to ``run()``.\n\n    Args:\n        settings: URLs and ports; read from the environment when omitted.\n        brokers: replaces named connections (tests pass ``MemoryBroker`` instances).\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        pass
        yield '        idempotency: replaces the store of task keys and schedule fires (tests\n            pass ``MemoryIdempotency()``).\n'
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '        '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ': replaces the '
        yield str(environment.getattr(l_1_r, 'kind'))
        yield ' '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ' of service.yaml.\n'
    l_1_r = missing
    yield '        handle_signals: install the SIGTERM/SIGINT handlers; off when embedded in tests.\n    """\n    settings = settings or load_settings()\n    overrides = dict(brokers or {})\n    unknown = sorted(set(overrides).difference(BROKERS))\n    if unknown:\n        raise ConfigurationError(\n            f"build_app(brokers=...) names unknown broker(s) {\', \'.join(unknown)}: "\n            f"use one of {\', \'.join(BROKERS) or \'none (the spec has no brokers)\'}"\n        )\n'
    for l_1_b in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_b, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_b, 'description')))
            yield '\n'
        if (environment.getattr(l_1_b, 'kind') == 'memory'):
            pass
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_6(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [t_6(environment.getattr(l_1_b, 'name'))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
        else:
            pass
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_6(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [str_join(('name=', t_6(environment.getattr(l_1_b, 'name')), )), str_join(('url=settings.', environment.getattr(l_1_b, 'url_setting'), ))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
    l_1_b = missing
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '    if '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ' is None:\n'
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_r, 'attr'), ' = ', environment.getattr(l_1_r, 'cls'), '(', )), t_5(context, environment.getattr(l_1_r, 'args'), 'join', '='), ')', 8, split='always', _loop_vars=_loop_vars))
        yield '\n'
    l_1_r = missing
    for l_1_store in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'idempotency'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_store, 'args'):
            pass
            yield str(t_1(str_join(('Task idempotency keys (and schedule fires), shared by every replica ', environment.getattr(l_1_store, 'where'), '.', ))))
            yield '\n'
        elif (not environment.getattr(l_1_store, 'per_replica')):
            pass
            yield "    # Task idempotency keys, in this process: the tasks' broker is in-process too.\n"
        if environment.getattr(l_1_store, 'per_replica'):
            pass
            yield str(t_1(str_join(('The idempotency keys of the task(s) ', t_3(context.eval_ctx, environment.getattr(l_1_store, 'per_replica'), ', '), ' are kept in this process: with several replicas, each replica drops repeats of its own enqueues only. Add a redis cache or a postgres database to service.yaml (resources: cache: {kind: redis, url: ...} or database: {kind: postgres, url: ...}) to share them across replicas.', ))))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_store, 'var'))
        yield ': IdempotencyStore = (\n        idempotency\n        if idempotency is not None\n'
        if environment.getattr(l_1_store, 'args'):
            pass
            yield '        else '
            yield str(environment.getattr(l_1_store, 'cls'))
            yield '(\n            name='
            yield str(t_6(environment.getattr(l_1_store, 'var')))
            yield ',\n'
            for (l_2_k, l_2_v) in environment.getattr(l_1_store, 'args'):
                _loop_vars = {}
                pass
                yield '            '
                yield str(l_2_k)
                yield '='
                yield str(l_2_v)
                yield ',\n'
            l_2_k = l_2_v = missing
            yield '        )\n'
        else:
            pass
            yield '        else '
            yield str(environment.getattr(l_1_store, 'cls'))
            yield '(name='
            yield str(t_6(environment.getattr(l_1_store, 'var')))
            yield ')\n'
        yield '    )\n'
    l_1_store = missing
    for l_1_p in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_p, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_p, 'description')))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_p, 'var'))
        yield ': Publisher['
        yield str((environment.getattr(l_1_p, 'message') or 'bytes'))
        yield '] = Publisher(\n        name='
        yield str(t_6(environment.getattr(l_1_p, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_p, 'broker_var'))
        yield ',\n        target='
        yield str(t_6(environment.getattr(l_1_p, 'target')))
        yield ',\n'
        if environment.getattr(l_1_p, 'message'):
            pass
            yield '        encode=pydantic_encoder,\n'
        yield '    )\n'
    l_1_p = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_t, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_t, 'description')))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_t, 'var'))
        yield ': Task['
        yield str((environment.getattr(l_1_t, 'args') or 'bytes'))
        yield '] = Task(\n        name='
        yield str(t_6(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_6(environment.getattr(l_1_t, 'queue')))
        yield ',\n        encode='
        yield str(('pydantic_encoder' if environment.getattr(l_1_t, 'args') else 'bytes'))
        yield ',\n        idempotency='
        yield str(environment.getattr(l_1_t, 'idempotency_var'))
        yield ',\n        key_window='
        yield str(t_6(environment.getattr(l_1_t, 'key_window')))
        yield ',\n    )\n'
    l_1_t = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'has_context'):
        pass
        if (not ((environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks')) or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'))):
            pass
            yield '    ctx = Context()\n'
        else:
            pass
            yield '    ctx = Context(\n'
            for l_1_p in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'publishers'):
                _loop_vars = {}
                pass
                yield '        '
                yield str(environment.getattr(l_1_p, 'name'))
                yield '='
                yield str(environment.getattr(l_1_p, 'var'))
                yield ',\n'
            l_1_p = missing
            if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
                pass
                yield '        tasks=Tasks(\n'
                for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
                    _loop_vars = {}
                    pass
                    yield '            '
                    yield str(environment.getattr(l_1_t, 'name'))
                    yield '='
                    yield str(environment.getattr(l_1_t, 'var'))
                    yield ',\n'
                l_1_t = missing
                yield '        ),\n'
            for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
                _loop_vars = {}
                pass
                yield '        '
                yield str(environment.getattr(l_1_r, 'attr'))
                yield '='
                yield str(environment.getattr(l_1_r, 'attr'))
                yield ',\n'
            l_1_r = missing
            yield '    )\n'
        if (not environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'uses_context')):
            pass
            yield '    del ctx  # no consumer, route or task uses the context yet\n'
    for l_1_c in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'consumers'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_c, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_c, 'description')))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_c, 'var'))
        yield ': Consumer['
        yield str((environment.getattr(l_1_c, 'message') or 'bytes'))
        yield '] = Consumer(\n        name='
        yield str(t_6(environment.getattr(l_1_c, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_c, 'broker_var'))
        yield ',\n        source='
        yield str(t_6(environment.getattr(l_1_c, 'source')))
        yield ',\n        group='
        yield str(t_6(environment.getattr(l_1_c, 'group')))
        yield ',\n        handler=partial('
        yield str(environment.getattr(l_1_c, 'handler_alias'))
        yield '.handle, ctx),\n        decode='
        if environment.getattr(l_1_c, 'message'):
            pass
            yield str(environment.getattr(l_1_c, 'message'))
            yield '.model_validate_json'
        else:
            pass
            yield 'None'
        yield ',\n        concurrency='
        yield str(environment.getattr(l_1_c, 'concurrency'))
        yield ',\n        timeout='
        yield str(t_6(environment.getattr(l_1_c, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_6(environment.getattr(environment.getattr(l_1_c, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_6(environment.getattr(environment.getattr(l_1_c, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_6(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_6(environment.getattr(environment.getattr(l_1_c, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_6(environment.getattr(l_1_c, 'dead_letter')))
        yield ',\n        ordering='
        yield str(t_6(environment.getattr(l_1_c, 'ordering')))
        yield ',\n    )\n'
    l_1_c = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_t, 'guarded'):
            pass
            yield '    # A schedule enqueues '
            yield str(environment.getattr(l_1_t, 'name'))
            yield ': at most one run of a schedule at a time.\n'
        yield '    '
        yield str(environment.getattr(l_1_t, 'worker_var'))
        yield ': Consumer['
        yield str((environment.getattr(l_1_t, 'args') or 'bytes'))
        yield '] = task_worker(\n        name='
        yield str(t_6(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_6(environment.getattr(l_1_t, 'queue')))
        yield ',\n        group='
        yield str(t_6(environment.getattr(l_1_t, 'group')))
        yield ',\n'
        if environment.getattr(l_1_t, 'guarded'):
            pass
            yield '        handler=guard_runs(\n            partial('
            yield str(environment.getattr(l_1_t, 'handler_alias'))
            yield '.handle, ctx),\n            store='
            yield str(environment.getattr(l_1_t, 'idempotency_var'))
            yield ',\n            ttl='
            yield str(t_6(environment.getattr(l_1_t, 'timeout')))
            yield ',\n        ),\n'
        else:
            pass
            yield '        handler=partial('
            yield str(environment.getattr(l_1_t, 'handler_alias'))
            yield '.handle, ctx),\n'
        yield '        decode='
        if environment.getattr(l_1_t, 'args'):
            pass
            yield str(environment.getattr(l_1_t, 'args'))
            yield '.model_validate_json'
        else:
            pass
            yield 'None'
        yield ',\n        concurrency='
        yield str(environment.getattr(l_1_t, 'concurrency'))
        yield ',\n        timeout='
        yield str(t_6(environment.getattr(l_1_t, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_6(environment.getattr(environment.getattr(l_1_t, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_6(environment.getattr(environment.getattr(l_1_t, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_6(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_6(environment.getattr(environment.getattr(l_1_t, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_6(environment.getattr(l_1_t, 'dead_letter')))
        yield ',\n    )\n'
    l_1_t = missing
    for l_1_sc in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_sc, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_sc, 'description')))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_sc, 'var'))
        yield ': Schedule['
        yield str((environment.getattr(l_1_sc, 'args') or 'bytes'))
        yield '] = Schedule(\n        name='
        yield str(t_6(environment.getattr(l_1_sc, 'name')))
        yield ',\n        task='
        yield str(environment.getattr(l_1_sc, 'task_var'))
        yield ',\n        args='
        yield str(environment.getattr(l_1_sc, 'args_alias'))
        yield '.args,\n'
        if (not t_8(environment.getattr(l_1_sc, 'cron'))):
            pass
            yield '        cron='
            yield str(t_6(environment.getattr(l_1_sc, 'cron')))
            yield ',\n'
        else:
            pass
            yield '        every='
            yield str(t_6(environment.getattr(l_1_sc, 'every')))
            yield ',\n'
        yield '        timezone='
        yield str(t_6(environment.getattr(l_1_sc, 'timezone')))
        yield ',\n    )\n'
    l_1_sc = missing
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http') and (not environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'routes'))):
        pass
        yield '    http = HttpServer(\n        routes=[],\n        port=settings.http_port,\n    )\n'
    elif environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http'):
        pass
        yield '    http = HttpServer(\n        routes=[\n'
        for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'routes'):
            _loop_vars = {}
            pass
            if environment.getattr(l_1_r, 'description'):
                pass
                yield str(t_1(environment.getattr(l_1_r, 'description'), 12))
                yield '\n'
            yield '            Route(\n                '
            yield str(t_6(environment.getattr(l_1_r, 'path')))
            yield ',\n                partial('
            yield str(environment.getattr(l_1_r, 'handler_alias'))
            yield '.handle, ctx),\n                methods=['
            yield str(t_6(environment.getattr(l_1_r, 'method')))
            yield '],\n                name='
            yield str(t_6(environment.getattr(l_1_r, 'name')))
            yield ',\n            ),\n'
        l_1_r = missing
        yield '        ],\n        port=settings.http_port,\n    )\n'
    else:
        pass
        yield '    health = HealthServer(port=settings.health_port)\n'
    yield '    return Application(\n        name='
    yield str(t_6(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
    yield ',\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'brokers=[', t_5(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), attribute='var'), ']', 8, ',', split='always'))
    yield '\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'consumers=[', (t_4(context.eval_ctx, t_5(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'consumers'), attribute='var')) + t_4(context.eval_ctx, t_5(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'), attribute='worker_var'))), ']', 8, ',', split='always'))
    yield '\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
        pass
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'components=[', t_5(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'), attribute='var'), ']', 8, ',', split='always'))
        yield '\n'
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'idempotency')):
        pass
        yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), context.call((undefined(name='resources_list') if l_0_resources_list is missing else l_0_resources_list), (undefined(name='plan') if l_0_plan is missing else l_0_plan)), 8, ','))
        yield '\n'
    yield '        http='
    yield str(('http' if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http') else 'health'))
    yield ',\n        drain_timeout='
    yield str(t_6(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'drain_timeout')))
    yield ',\n        handle_signals=handle_signals,\n    )\n\n\ndef run() -> None:\n    """Run the service until SIGTERM/SIGINT; exit 0 after a complete drain."""\n    raise SystemExit(build_app().run())\n'

blocks = {}
debug_info = '1=63&2=70&7=72&9=75&13=80&15=88&23=90&26=93&27=97&31=103&36=105&40=108&41=112&53=120&54=123&55=125&57=127&58=129&60=133&63=136&64=140&65=142&67=145&68=148&69=150&70=152&73=155&74=157&76=160&79=162&80=165&81=167&82=169&83=173&87=182&91=188&92=191&93=193&95=196&96=200&97=202&98=204&99=206&104=211&105=214&106=216&108=219&109=223&110=225&111=227&112=229&113=231&114=233&117=236&118=238&122=244&123=248&125=253&127=256&128=260&132=266&133=270&137=276&141=279&142=282&143=284&145=287&146=291&147=293&148=295&149=297&150=299&151=301&152=309&153=311&155=313&156=315&157=317&158=319&159=321&161=323&162=325&165=328&166=331&167=334&169=337&170=341&171=343&172=345&173=347&174=349&176=352&177=354&178=356&181=361&183=364&184=372&185=374&187=376&188=378&189=380&190=382&191=384&193=386&196=389&197=392&198=394&200=397&201=401&202=403&203=405&204=407&205=410&207=415&209=418&212=421&217=424&220=427&221=430&222=432&225=435&226=437&227=439&228=441&238=449&239=451&240=453&241=455&242=457&244=459&245=461&247=464&248=466'