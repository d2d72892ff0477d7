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
        t_3 = environment.filters['duration']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'duration' found.")
    try:
        t_4 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_5 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_6 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_7 = environment.filters['map']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'map' found.")
    try:
        t_8 = environment.filters['py']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No filter named 'py' found.")
    try:
        t_9 = environment.filters['wordwrap']
    except KeyError:
        @internalcode
        def t_9(*unused):
            raise TemplateRuntimeError("No filter named 'wordwrap' found.")
    try:
        t_10 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_10(*unused):
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
    yield " service.\n\nEvery connection, resource, consumer, publisher, task, schedule and route is\nconstructed here with its settings from service.yaml and handed to the Application.\nA tuning number is read from ``settings`` (the comment beside it gives service.yaml's\nvalue): the environment variable ``SVCGEN_`` + the attribute's name in upper case\noverrides it at start-up, such as ``SVCGEN_SHUTDOWN_DRAIN_TIMEOUT`` for\n``settings.shutdown_drain_timeout`` (settings.py lists them all).\n"
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'):
        pass
        yield '\n'
        yield str(t_2(t_9(environment, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'description'), 84)))
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
    if (t_5(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers')) == 1):
        pass
        yield 'BROKERS: tuple[str, ...] = ('
        yield str(t_8(environment.getattr(environment.getitem(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'), 0), 'name')))
        yield ',)\n'
    elif environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
        pass
        yield 'BROKERS: tuple[str, ...] = (\n'
        for l_1_b in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'brokers'):
            _loop_vars = {}
            pass
            yield '    '
            yield str(t_8(environment.getattr(l_1_b, 'name')))
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
        _loop_vars = {}
        pass
        if environment.getattr(l_1_b, 'description'):
            pass
            yield str(t_1(environment.getattr(l_1_b, 'description')))
            yield '\n'
        if t_10(environment.getattr(l_1_b, 'url_setting')):
            pass
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_8(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), [t_8(environment.getattr(l_1_b, 'name'))], ')', 4, _loop_vars=_loop_vars))
            yield '\n'
        else:
            pass
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((environment.getattr(l_1_b, 'var'), ': Broker = overrides.get(', t_8(environment.getattr(l_1_b, 'name')), ') or ', environment.getattr(l_1_b, 'cls'), '(', )), ([str_join(('name=', t_8(environment.getattr(l_1_b, 'name')), )), str_join(('url=settings.', environment.getattr(l_1_b, 'url_setting'), ))] + t_6(context.eval_ctx, t_7(context, environment.getattr(l_1_b, 'args'), 'join', '='))), ')', 4, _loop_vars=_loop_vars))
            yield '\n'
    l_1_b = missing
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
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'effects'):
        pass
        yield "    # Dedupe keys and outbox messages, kept in the database (schema svcgen) and\n    # written in the same transaction as the handler's or route's own writes.\n    effects = Effects(database=database, service="
        yield str(t_8(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
        yield ')\n'
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
            yield str(t_1(str_join(('The idempotency keys of the task(s) ', t_4(context.eval_ctx, environment.getattr(l_1_store, 'per_replica'), ', '), ' are kept in this process: with several replicas, each replica drops repeats of its own enqueues only. Add a redis cache or a postgres database to service.yaml (resources: cache: {kind: redis, url: ...} or database: {kind: postgres, url: ...}) to share them across replicas.', ))))
            yield '\n'
        yield '    '
        yield str(environment.getattr(l_1_store, 'var'))
        yield ': IdempotencyStore = (\n        idempotency\n        if idempotency is not None\n'
        if environment.getattr(l_1_store, 'args'):
            pass
            yield '        else '
            yield str(environment.getattr(l_1_store, 'cls'))
            yield '(\n            name='
            yield str(t_8(environment.getattr(l_1_store, 'var')))
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
            yield str(t_8(environment.getattr(l_1_store, 'var')))
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
        yield str(t_8(environment.getattr(l_1_p, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_p, 'broker_var'))
        yield ',\n        target='
        yield str(t_8(environment.getattr(l_1_p, 'target')))
        yield ',\n'
        if environment.getattr(l_1_p, 'message'):
            pass
            yield '        encode=pydantic_encoder,\n'
        if environment.getattr(l_1_p, 'outbox'):
            pass
            yield '        outbox=effects,\n'
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
        yield str(t_8(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_8(environment.getattr(l_1_t, 'queue')))
        yield ',\n        encode='
        yield str(('pydantic_encoder' if environment.getattr(l_1_t, 'args') else 'bytes'))
        yield ',\n        idempotency='
        yield str(environment.getattr(l_1_t, 'idempotency_var'))
        yield ',\n        key_window=settings.task_'
        yield str(environment.getattr(l_1_t, 'name'))
        yield '_key_window,  # '
        yield str(t_3(environment.getattr(l_1_t, 'key_window')))
        yield ' in service.yaml\n    )\n'
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
        l_1_at = missing
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
        yield str(t_8(environment.getattr(l_1_c, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_c, 'broker_var'))
        yield ',\n        source='
        yield str(t_8(environment.getattr(l_1_c, 'source')))
        yield ',\n        group='
        yield str(t_8(environment.getattr(l_1_c, 'group')))
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
        yield ',\n'
        l_1_at = str_join(('settings.consumer_', environment.getattr(l_1_c, 'name'), ))
        _loop_vars['at'] = l_1_at
        yield '        concurrency='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_concurrency,  # '
        yield str(environment.getattr(l_1_c, 'concurrency'))
        yield ' in service.yaml\n        timeout='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_timeout,  # '
        yield str(t_3(environment.getattr(l_1_c, 'timeout')))
        yield ' in service.yaml\n        retry=RetryPolicy(\n            max_attempts='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_max_attempts,  # '
        yield str(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max_attempts'))
        yield ' in service.yaml\n            backoff='
        yield str(t_8(environment.getattr(environment.getattr(l_1_c, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_retry_initial,  # '
        yield str(t_3(environment.getattr(environment.getattr(l_1_c, 'retry'), 'initial')))
        yield ' in service.yaml\n            max='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_retry_max,  # '
        yield str(t_3(environment.getattr(environment.getattr(l_1_c, 'retry'), 'max')))
        yield ' in service.yaml\n            jitter='
        yield str(t_8(environment.getattr(environment.getattr(l_1_c, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_8(environment.getattr(l_1_c, 'dead_letter')))
        yield ',\n        ordering='
        yield str(t_8(environment.getattr(l_1_c, 'ordering')))
        yield ',\n'
        if environment.getattr(l_1_c, 'dedupe'):
            pass
            yield '        dedupe=Dedupe(\n            effects=effects,\n            key='
            yield str(t_8(environment.getattr(environment.getattr(l_1_c, 'dedupe'), 'key')))
            yield ',\n            window='
            yield str((undefined(name='at') if l_1_at is missing else l_1_at))
            yield '_dedupe_window,  # '
            yield str(t_3(environment.getattr(environment.getattr(l_1_c, 'dedupe'), 'window')))
            yield ' in service.yaml\n        ),\n'
        if environment.getattr(l_1_c, 'options'):
            pass
            yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), environment.getattr(l_1_c, 'options'), 8, ',', _loop_vars=_loop_vars))
            yield '\n'
        yield '    )\n'
    l_1_c = l_1_at = missing
    for l_1_t in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'tasks'):
        l_1_at = missing
        _loop_vars = {}
        pass
        l_1_at = str_join(('settings.task_', environment.getattr(l_1_t, 'name'), ))
        _loop_vars['at'] = l_1_at
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
        yield str(t_8(environment.getattr(l_1_t, 'name')))
        yield ',\n        broker='
        yield str(environment.getattr(l_1_t, 'broker_var'))
        yield ',\n        queue='
        yield str(t_8(environment.getattr(l_1_t, 'queue')))
        yield ',\n        group='
        yield str(t_8(environment.getattr(l_1_t, 'group')))
        yield ',\n'
        if environment.getattr(l_1_t, 'guarded'):
            pass
            yield '        handler=guard_runs(\n            partial('
            yield str(environment.getattr(l_1_t, 'handler_alias'))
            yield '.handle, ctx),\n            store='
            yield str(environment.getattr(l_1_t, 'idempotency_var'))
            yield ',\n            ttl='
            yield str((undefined(name='at') if l_1_at is missing else l_1_at))
            yield '_timeout,\n        ),\n'
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
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_concurrency,  # '
        yield str(environment.getattr(l_1_t, 'concurrency'))
        yield ' in service.yaml\n        timeout='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_timeout,  # '
        yield str(t_3(environment.getattr(l_1_t, 'timeout')))
        yield ' in service.yaml\n        retry=RetryPolicy(\n            max_attempts='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_max_attempts,  # '
        yield str(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max_attempts'))
        yield ' in service.yaml\n            backoff='
        yield str(t_8(environment.getattr(environment.getattr(l_1_t, 'retry'), 'backoff')))
        yield ',\n            initial='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_retry_initial,  # '
        yield str(t_3(environment.getattr(environment.getattr(l_1_t, 'retry'), 'initial')))
        yield ' in service.yaml\n            max='
        yield str((undefined(name='at') if l_1_at is missing else l_1_at))
        yield '_retry_max,  # '
        yield str(t_3(environment.getattr(environment.getattr(l_1_t, 'retry'), 'max')))
        yield ' in service.yaml\n            jitter='
        yield str(t_8(environment.getattr(environment.getattr(l_1_t, 'retry'), 'jitter')))
        yield ',\n        ),\n        dead_letter='
        yield str(t_8(environment.getattr(l_1_t, 'dead_letter')))
        yield ',\n'
        if environment.getattr(l_1_t, 'options'):
            pass
            yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), environment.getattr(l_1_t, 'options'), 8, ',', _loop_vars=_loop_vars))
            yield '\n'
        yield '    )\n'
    l_1_t = l_1_at = missing
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
        yield str(t_8(environment.getattr(l_1_sc, 'name')))
        yield ',\n        task='
        yield str(environment.getattr(l_1_sc, 'task_var'))
        yield ',\n        args='
        yield str(environment.getattr(l_1_sc, 'args_alias'))
        yield '.args,\n'
        if (not t_10(environment.getattr(l_1_sc, 'cron'))):
            pass
            yield '        cron='
            yield str(t_8(environment.getattr(l_1_sc, 'cron')))
            yield ',\n'
        else:
            pass
            yield '        every='
            yield str(t_8(environment.getattr(l_1_sc, 'every')))
            yield ',\n'
        yield '        timezone='
        yield str(t_8(environment.getattr(l_1_sc, 'timezone')))
        yield ',\n    )\n'
    l_1_sc = missing
    if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'outboxes'):
        pass
        yield '    # Sends each outbox message after its transaction commits, in order, and marks\n    # it sent once the broker confirms it.\n    outbox_relay = OutboxRelay(\n        effects=effects,\n'
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), 'publishers=[', t_6(context.eval_ctx, t_7(context, environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'outboxes'), attribute='var')), ']', 8, ','))
        yield '\n    )\n'
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
            yield str(t_8(environment.getattr(l_1_r, 'path')))
            yield ',\n                partial('
            yield str(environment.getattr(l_1_r, 'handler_alias'))
            yield '.handle, ctx),\n                methods=['
            yield str(t_8(environment.getattr(l_1_r, 'method')))
            yield '],\n                name='
            yield str(t_8(environment.getattr(l_1_r, 'name')))
            yield ',\n            ),\n'
        l_1_r = missing
        yield '        ],\n        port=settings.http_port,\n    )\n'
    else:
        pass
        yield '    health = HealthServer(port=settings.health_port)\n'
    yield '    return Application(\n        name='
    yield str(t_8(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
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
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'outboxes')):
        pass
        yield '        components=[\n'
        for l_1_sc in environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'schedules'):
            _loop_vars = {}
            pass
            yield '            '
            yield str(environment.getattr(l_1_sc, 'var'))
            yield ',\n'
        l_1_sc = missing
        if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'outboxes'):
            pass
            yield '            outbox_relay,\n'
        yield '        ],\n'
    if (environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'resources') or environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'idempotency')):
        pass
        yield str(context.call((undefined(name='lay_out') if l_0_lay_out is missing else l_0_lay_out), context.call((undefined(name='resources_list') if l_0_resources_list is missing else l_0_resources_list), (undefined(name='plan') if l_0_plan is missing else l_0_plan)), 8, ','))
        yield '\n'
    yield '        http='
    yield str(('http' if environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'http') else 'health'))
    yield ',\n        drain_timeout=settings.shutdown_drain_timeout,  # '
    yield str(t_3(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'drain_timeout')))
    yield ' in service.yaml\n        handle_signals=handle_signals,\n    )\n\n\ndef run() -> None:\n    """Run the service until SIGTERM/SIGINT; exit 0 after a complete drain, 3 (one\n    logged sentence) when a setting is refused, before anything connects."""\n    raise SystemExit(run_or_refuse(build_app, '
    yield str(t_8(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
    yield '))\n'

blocks = {}
debug_info = '1=75&2=82&10=84&12=87&16=92&18=100&19=103&20=105&22=108&23=112&36=120&39=123&40=127&44=133&49=135&53=138&54=142&66=150&67=153&68=155&70=157&71=159&73=163&76=166&77=170&78=172&79=175&80=179&81=183&85=192&88=197&91=200&93=202&94=205&95=207&96=209&99=212&100=214&102=217&105=219&106=222&107=224&108=226&109=230&113=239&117=245&118=248&119=250&121=253&122=257&123=259&124=261&125=263&128=266&133=271&134=274&135=276&137=279&138=283&139=285&140=287&141=289&142=291&143=293&146=298&147=300&151=306&152=310&154=315&156=318&157=322&161=328&162=332&166=338&170=341&171=345&172=347&174=350&175=354&176=356&177=358&178=360&179=362&180=364&181=372&182=375&183=379&185=383&186=387&187=389&188=393&189=397&191=399&192=401&193=403&196=406&197=408&200=412&201=414&205=418&206=422&207=424&208=427&210=430&211=434&212=436&213=438&214=440&215=442&217=445&218=447&219=449&222=454&224=457&225=465&226=469&228=473&229=477&230=479&231=483&232=487&234=489&235=491&236=493&240=497&241=500&242=502&244=505&245=509&246=511&247=513&248=515&249=518&251=523&253=526&256=529&261=532&264=534&269=537&272=540&273=543&274=545&277=548&278=550&279=552&280=554&290=562&291=564&293=567&294=571&300=578&302=581&303=585&305=588&306=592&312=599&314=602&315=606&317=609&322=613&323=615&325=618&326=620&334=622'