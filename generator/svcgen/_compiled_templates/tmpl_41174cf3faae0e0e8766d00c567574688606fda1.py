from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'generated/app.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
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
        t_4 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_5 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_6 = environment.filters['map']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'map' found.")
    try:
        t_7 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_8 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    try:
        t_9 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_9(*unused):
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
        yield str(t_2(t_8(environment, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'), 84)))
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
    if (t_4(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers')) == 1):
        pass
        yield 'BROKERS: tuple[str, ...] = ('
        yield str(t_7(environment.getattr(environment.getitem(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), 0), 'name')))
        yield ',)\n'
    elif environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
        pass
        yield 'BROKERS: tuple[str, ...] = (\n'
        for l_1_b in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
            _loop_vars = {}
            pass
            yield '    '
            yield str(t_7(environment.getattr(l_1_b, 'name')))
            yield ',\n'
        l_1_b = missing
        yield ')\n'
    else:
        pass
        yield 'BROKERS: tuple[str, ...] = ()\n'
    yield '"""The broker connections by name; ``build_app(brokers=...)`` may replace them."""\n\n\ndef build_app(\n    *,\n    settings: Settings | None = None,\n    brokers: Mapping[str, Broker] | None = None,\n'
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
        l_1_lay = resolve('lay')
        _loop_vars = {}
        pass
        if environment.getattr(l_1_b, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_b, 'description')))
            yield '\n'
        if t_9(environment.getattr(l_1_b, 'url_setting')):
            pass
            yield str(context.call((undefined(name='lay') if l_1_lay is missing else l_1_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_7(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [t_7(environment.getattr(l_1_b, 'name'))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
        else:
            pass
            yield str(context.call((undefined(name='lay') if l_1_lay is missing else l_1_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_7(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), ([str_join(('name=', t_7(environment.getattr(l_1_b, 'name')), )), str_join(('url=settings.', environment.getattr(l_1_b, 'url_setting'), ))] + t_5(context.eval_ctx, t_6(context, environment.getattr(l_1_b, 'args'), 'join', '='))), ')', 4, _loop_vars=_loop_vars))
            yield '\n'
    l_1_b = l_1_lay = missing
    for l_1_r in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources'):
        _loop_vars = {}
        pass
        yield '    if '
        yield str(environment.getattr(l_1_r, 'attr'))
        yield ' is None:\n'
        if environment.getattr(l_1_r, 'args'):
            pass
            yield '        '
            yield str(environment.getattr(l_1_r, 'attr'))
            yield ' = '
            yield str(environment.getattr(l_1_r, 'cls'))
            yield '(\n'
            for (l_2_k, l_2_v) in environment.getattr(l_1_r, 'args'):
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
            yield '        '
            yield str(environment.getattr(l_1_r, 'attr'))
            yield ' = '
            yield str(environment.getattr(l_1_r, 'cls'))
            yield '()\n'
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
            yield str(t_7(environment.getattr(l_1_store, 'var')))
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
            yield str(t_7(environment.getattr(l_1_store, 'var')))
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
        yield str(t_7(environment.getattr(l_1_p, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_p, 'broker_var'))
        yield ',\n        target='
        yield str(t_7(environment.getattr(l_1_p, 'target')))
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
        yield str(t_7(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_7(environment.getattr(l_1_t, 'queue')))
        yield ',\n        encode='
        yield str(('pydantic_encoder' if environment.getattr(l_1_t, 'args') else 'bytes'))
        yield ',\n        idempotency='
        yield str(environment.getattr(l_1_t, 'idempotency_var'))
        yield ',\n        key_window='
        yield str(t_7(environment.getattr(l_1_t, 'key_window')))
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
        yield str(t_7(environment.getattr(l_1_c, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_c, 'broker_var'))
        yield ',\n        source='
        yield str(t_7(environment.getattr(l_1_c, 'source')))
        yield ',\n        group='
        yield str(t_7(environment.getattr(l_1_c, 'group')))
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
        yield str(t_7(environment.getattr(l_1_c, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_7(environment.getattr(environment.getattr(l_1_c, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_7(environment.getattr(environment.getattr(l_1_c, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_7(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_7(environment.getattr(environment.getattr(l_1_c, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_7(environment.getattr(l_1_c, 'dead_letter')))
        yield ',\n        ordering='
        yield str(t_7(environment.getattr(l_1_c, 'ordering')))
        yield ',\n'
        if environment.getattr(l_1_c, 'options'):
            pass
            yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), environment.getattr(l_1_c, 'options'), 8, ',', _loop_vars=_loop_vars))
            yield '\n'
        yield '    )\n'
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
        yield str(t_7(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_7(environment.getattr(l_1_t, 'queue')))
        yield ',\n        group='
        yield str(t_7(environment.getattr(l_1_t, 'group')))
        yield ',\n'
        if environment.getattr(l_1_t, 'guarded'):
            pass
            yield '        handler=guard_runs(\n            partial('
            yield str(environment.getattr(l_1_t, 'handler_alias'))
            yield '.handle, ctx),\n            store='
            yield str(environment.getattr(l_1_t, 'idempotency_var'))
            yield ',\n            ttl='
            yield str(t_7(environment.getattr(l_1_t, 'timeout')))
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
        yield str(t_7(environment.getattr(l_1_t, 'timeout')))
        yield ',\n        retry=RetryPolicy(\n            max_attempts='
        yield str(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max_attempts'))
        yield ',\n            backoff='
        yield str(t_7(environment.getattr(environment.getattr(l_1_t, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str(t_7(environment.getattr(environment.getattr(l_1_t, 'retry'), 'initial')))
        yield ',\n            max='
        yield str(t_7(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max')))
        yield ',\n            jitter='
        yield str(t_7(environment.getattr(environment.getattr(l_1_t, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_7(environment.getattr(l_1_t, 'dead_letter')))
        yield ',\n'
        if environment.getattr(l_1_t, 'options'):
            pass
            yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), environment.getattr(l_1_t, 'options'), 8, ',', _loop_vars=_loop_vars))
            yield '\n'
        yield '    )\n'
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
        yield str(t_7(environment.getattr(l_1_sc, 'name')))
        yield ',\n        task='
        yield str(environment.getattr(l_1_sc, 'task_var'))
        yield ',\n        args='
        yield str(environment.getattr(l_1_sc, 'args_alias'))
        yield '.args,\n'
        if (not t_9(environment.getattr(l_1_sc, 'cron'))):
            pass
            yield '        cron='
            yield str(t_7(environment.getattr(l_1_sc, 'cron')))
            yield ',\n'
        else:
            pass
            yield '        every='
            yield str(t_7(environment.getattr(l_1_sc, 'every')))
            yield ',\n'
        yield '        timezone='
        yield str(t_7(environment.getattr(l_1_sc, 'timezone')))
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
            yield str(t_7(environment.getattr(l_1_r, 'path')))
            yield ',\n                partial('
            yield str(environment.getattr(l_1_r, 'handler_alias'))
            yield '.handle, ctx),\n                methods=['
            yield str(t_7(environment.getattr(l_1_r, 'method')))
            yield '],\n                name='
            yield str(t_7(environment.getattr(l_1_r, 'name')))
            yield ',\n            ),\n'
        l_1_r = missing
        yield '        ],\n        port=settings.http_port,\n    )\n'
    else:
        pass
        yield '    health = HealthServer(port=settings.health_port)\n'
    yield '    return Application(\n        name='
    yield str(t_7(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
    yield ',\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
        pass
        yield '        brokers=[\n'
        for l_1_b in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
            _loop_vars = {}
            pass
            yield '            '
            yield str(environment.getattr(l_1_b, 'var'))
            yield ',\n'
        l_1_b = missing
        yield '        ],\n'
    else:
        pass
        yield '        brokers=[],\n'
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'consumers') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks')):
        pass
        yield '        consumers=[\n'
        for l_1_c in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'consumers'):
            _loop_vars = {}
            pass
            yield '            '
            yield str(environment.getattr(l_1_c, 'var'))
            yield ',\n'
        l_1_c = missing
        for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
            _loop_vars = {}
            pass
            yield '            '
            yield str(environment.getattr(l_1_t, 'worker_var'))
            yield ',\n'
        l_1_t = missing
        yield '        ],\n'
    else:
        pass
        yield '        consumers=[],\n'
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
        pass
        yield '        components=[\n'
        for l_1_sc in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
            _loop_vars = {}
            pass
            yield '            '
            yield str(environment.getattr(l_1_sc, 'var'))
            yield ',\n'
        l_1_sc = missing
        yield '        ],\n'
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'idempotency')):
        pass
        yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), context.call((undefined(name='resources_list') if l_0_resources_list is missing else l_0_resources_list), (undefined(name='plan') if l_0_plan is missing else l_0_plan)), 8, ','))
        yield '\n'
    yield '        http='
    yield str(('http' if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http') else 'health'))
    yield ',\n        drain_timeout='
    yield str(t_7(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'drain_timeout')))
    yield ',\n        handle_signals=handle_signals,\n    )\n\n\ndef run() -> None:\n    """Run the service until SIGTERM/SIGINT; exit 0 after a complete drain."""\n    raise SystemExit(build_app().run())\n'

blocks = {}
debug_info = '1=68&2=75&7=77&9=80&13=85&15=93&16=96&17=98&19=101&20=105&33=113&36=116&37=120&41=126&46=128&50=131&51=135&63=143&64=147&65=149&67=151&68=153&70=157&73=160&74=164&75=166&76=169&77=173&78=177&82=186&85=191&86=194&87=196&88=198&91=201&92=203&94=206&97=208&98=211&99=213&100=215&101=219&105=228&109=234&110=237&111=239&113=242&114=246&115=248&116=250&117=252&122=257&123=260&124=262&126=265&127=269&128=271&129=273&130=275&131=277&132=279&135=282&136=284&140=290&141=294&143=299&145=302&146=306&150=312&151=316&155=322&159=325&160=328&161=330&163=333&164=337&165=339&166=341&167=343&168=345&169=347&170=355&171=357&173=359&174=361&175=363&176=365&177=367&179=369&180=371&181=373&182=375&186=379&187=382&188=385&190=388&191=392&192=394&193=396&194=398&195=400&197=403&198=405&199=407&202=412&204=415&205=423&206=425&208=427&209=429&210=431&211=433&212=435&214=437&215=439&216=441&220=445&221=448&222=450&224=453&225=457&226=459&227=461&228=463&229=466&231=471&233=474&236=477&241=480&244=483&245=486&246=488&249=491&250=493&251=495&252=497&262=505&263=507&265=510&266=514&272=521&274=524&275=528&277=531&278=535&284=542&286=545&287=549&291=553&292=555&294=558&295=560'