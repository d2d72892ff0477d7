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
        t_2 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_3 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_4 = environment.filters['map']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'map' found.")
    try:
        t_5 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_6 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    try:
        t_7 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_7(*unused):
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
        yield str(t_6(environment, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'), 84))
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
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'BROKERS: tuple[str, ...] = (', t_4(context, t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), attribute='name'), 'py'), ')', split='always', one_tuple=True))
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
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_5(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [t_5(environment.getattr(l_1_b, 'name'))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
        else:
            pass
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_5(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [str_join(('name=', t_5(environment.getattr(l_1_b, 'name')), )), str_join(('url=settings.', environment.getattr(l_1_b, 'url_setting'), ))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
    l_1_b = missing
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '    if '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ' is None:\n'
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_r, 'attr'), ' = ', environment.getattr(l_1_r, 'cls'), '(', )), t_4(context, environment.getattr(l_1_r, 'args'), 'join', '='), ')', 8, split='always', _loop_vars=_loop_vars))
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
            yield str(t_1(str_join(('The idempotency keys of the task(s) ', t_2(context.eval_ctx, environment.getattr(l_1_store, 'per_replica'), ', '), ' are kept in this process: with several replicas, each replica drops repeats of its own enqueues only. Add a redis cache or a postgres database to service.yaml (resources: cache: {kind: redis, url: ...} or database: {kind: postgres, url: ...}) to share them across replicas.', ))))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_store, 'var'))
        yield ': IdempotencyStore = (\n        idempotency\n        if idempotency is not None\n'
        if environment.getattr(l_1_store, 'args'):
            pass
            yield '        else '
            yield str(environment.getattr(l_1_store, 'cls'))
            yield '(\n            name='
            yield str(t_5(environment.getattr(l_1_store, 'var')))
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
            yield str(t_5(environment.getattr(l_1_store, 'var')))
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
        yield str(t_5(environment.getattr(l_1_p, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_p, 'broker_var'))
        yield ',\n        target='
        yield str(t_5(environment.getattr(l_1_p, 'target')))
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
        yield str(t_5(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_5(environment.getattr(l_1_t, 'queue')))
        yield ',\n        encode='
        yield str(('pydantic_encoder' if environment.getattr(l_1_t, 'args') else 'bytes'))
        yield ',\n        idempotency='
        yield str(environment.getattr(l_1_t, 'idempotency_var'))
        yield ',\n        key_window='
        yield str(t_5(environment.getattr(l_1_t, 'key_window')))
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
        yield str(t_5(environment.getattr(l_1_c, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_c, 'broker_var'))
        yield ',\n        source='
        yield str(t_5(environment.getattr(l_1_c, 'source')))
        yield ',\n        group='
        yield str(t_5(environment.getattr(l_1_c, 'group')))
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
        yield str(t_5(environment.getattr(l_1_c, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_5(environment.getattr(environment.getattr(l_1_c, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_5(environment.getattr(environment.getattr(l_1_c, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_5(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_5(environment.getattr(environment.getattr(l_1_c, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_5(environment.getattr(l_1_c, 'dead_letter')))
        yield ',\n        ordering='
        yield str(t_5(environment.getattr(l_1_c, 'ordering')))
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
        yield str(t_5(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_5(environment.getattr(l_1_t, 'queue')))
        yield ',\n        group='
        yield str(t_5(environment.getattr(l_1_t, 'group')))
        yield ',\n'
        if environment.getattr(l_1_t, 'guarded'):
            pass
            yield '        handler=guard_runs(\n            partial('
            yield str(environment.getattr(l_1_t, 'handler_alias'))
            yield '.handle, ctx),\n            store='
            yield str(environment.getattr(l_1_t, 'idempotency_var'))
            yield ',\n            ttl='
            yield str(t_5(environment.getattr(l_1_t, 'timeout')))
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
        yield str(t_5(environment.getattr(l_1_t, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_5(environment.getattr(environment.getattr(l_1_t, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_5(environment.getattr(environment.getattr(l_1_t, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_5(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_5(environment.getattr(environment.getattr(l_1_t, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_5(environment.getattr(l_1_t, 'dead_letter')))
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
        yield str(t_5(environment.getattr(l_1_sc, 'name')))
        yield ',\n        task='
        yield str(environment.getattr(l_1_sc, 'task_var'))
        yield ',\n        args='
        yield str(environment.getattr(l_1_sc, 'args_alias'))
        yield '.args,\n'
        if (not t_7(environment.getattr(l_1_sc, 'cron'))):
            pass
            yield '        cron='
            yield str(t_5(environment.getattr(l_1_sc, 'cron')))
            yield ',\n'
        else:
            pass
            yield '        every='
            yield str(t_5(environment.getattr(l_1_sc, 'every')))
            yield ',\n'
        yield '        timezone='
        yield str(t_5(environment.getattr(l_1_sc, 'timezone')))
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
            yield str(t_5(environment.getattr(l_1_r, 'path')))
            yield ',\n                partial('
            yield str(environment.getattr(l_1_r, 'handler_alias'))
            yield '.handle, ctx),\n                methods=['
            yield str(t_5(environment.getattr(l_1_r, 'method')))
            yield '],\n                name='
            yield str(t_5(environment.getattr(l_1_r, 'name')))
            yield ',\n            ),\n'
        l_1_r = missing
        yield '        ],\n        port=settings.http_port,\n    )\n'
    else:
        pass
        yield '    health = HealthServer(port=settings.health_port)\n'
    yield '    return Application(\n        name='
    yield str(t_5(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
    yield ',\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'brokers=[', t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), attribute='var'), ']', 8, ',', split='always'))
    yield '\n'
    yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'consumers=[', (t_3(context.eval_ctx, t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'consumers'), attribute='var')) + t_3(context.eval_ctx, t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'), attribute='worker_var'))), ']', 8, ',', split='always'))
    yield '\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
        pass
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'components=[', t_4(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'), attribute='var'), ']', 8, ',', split='always'))
        yield '\n'
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'idempotency')):
        pass
        yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), context.call((undefined(name='resources_list') if l_0_resources_list is missing else l_0_resources_list), (undefined(name='plan') if l_0_plan is missing else l_0_plan)), 8, ','))
        yield '\n'
    yield '        http='
    yield str(('http' if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http') else 'health'))
    yield ',\n        drain_timeout='
    yield str(t_5(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'drain_timeout')))
    yield ',\n        handle_signals=handle_signals,\n    )\n\n\ndef run() -> None:\n    """Run the service until SIGTERM/SIGINT; exit 0 after a complete drain."""\n    raise SystemExit(build_app().run())\n'

blocks = {}
debug_info = '1=57&2=64&7=66&9=69&13=74&15=82&23=84&26=87&27=91&31=97&36=99&40=102&41=106&53=114&54=117&55=119&57=121&58=123&60=127&63=130&64=134&65=136&67=139&68=142&69=144&70=146&73=149&74=151&76=154&79=156&80=159&81=161&82=163&83=167&87=176&91=182&92=185&93=187&95=190&96=194&97=196&98=198&99=200&104=205&105=208&106=210&108=213&109=217&110=219&111=221&112=223&113=225&114=227&117=230&118=232&122=238&123=242&125=247&127=250&128=254&132=260&133=264&137=270&141=273&142=276&143=278&145=281&146=285&147=287&148=289&149=291&150=293&151=295&152=303&153=305&155=307&156=309&157=311&158=313&159=315&161=317&162=319&165=322&166=325&167=328&169=331&170=335&171=337&172=339&173=341&174=343&176=346&177=348&178=350&181=355&183=358&184=366&185=368&187=370&188=372&189=374&190=376&191=378&193=380&196=383&197=386&198=388&200=391&201=395&202=397&203=399&204=401&205=404&207=409&209=412&212=415&217=418&220=421&221=424&222=426&225=429&226=431&227=433&228=435&238=443&239=445&240=447&241=449&242=451&244=453&245=455&247=458&248=460'