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
        if ((environment.getattr(l_1_r, 'attr') == 'database') and environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'effects')):
            pass
            yield '            Dedupe and the outbox keep their tables there: a PostgresDatabase.\n'
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
        yield ',\n'
        if environment.getattr(l_1_c, 'middleware'):
            pass
            yield '        handler=chain(\n            partial('
            yield str(environment.getattr(l_1_c, 'handler_alias'))
            yield '.handle, ctx),\n'
            yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), '[', environment.getattr(l_1_c, 'middleware'), ']', 12, ',', _loop_vars=_loop_vars))
            yield '\n            consumer='
            yield str(t_8(environment.getattr(l_1_c, 'name')))
            yield ',\n            ctx=ctx,\n        ),\n'
        else:
            pass
            yield '        handler=partial('
            yield str(environment.getattr(l_1_c, 'handler_alias'))
            yield '.handle, ctx),\n'
        yield '        decode='
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
            yield ',\n'
            if environment.getattr(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'hooks'), 'http'):
                pass
                yield '                route_chain(\n                    partial('
                yield str(environment.getattr(l_1_r, 'handler_alias'))
                yield '.handle, ctx),\n'
                yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), '[', environment.getattr(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'hooks'), 'http'), ']', 20, ',', _loop_vars=_loop_vars))
                yield '\n                    ctx=ctx,\n                ),\n'
            else:
                pass
                yield '                partial('
                yield str(environment.getattr(l_1_r, 'handler_alias'))
                yield '.handle, ctx),\n'
            yield '                methods=['
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
    yield ',\n'
    def t_11(fiter):
        for (l_1_key, l_1_hooks) in fiter:
            if l_1_hooks:
                yield (l_1_key, l_1_hooks)
    for (l_1_key, l_1_hooks) in t_11([('on_start', environment.getattr(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'hooks'), 'on_start')), ('on_stop', environment.getattr(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'hooks'), 'on_stop'))]):
        l_1_calls = missing
        _loop_vars = {}
        pass
        l_1_calls = []
        _loop_vars['calls'] = l_1_calls
        for l_2_h in l_1_hooks:
            l_2__ = missing
            _loop_vars = {}
            pass
            l_2__ = context.call(environment.getattr((undefined(name='calls') if l_1_calls is missing else l_1_calls), 'append'), str_join(('partial(', l_2_h, ', ctx)', )), _loop_vars=_loop_vars)
            _loop_vars['_'] = l_2__
        l_2_h = l_2__ = missing
        yield str(context.call((undefined(name='lay') if l_0_lay is missing else l_0_lay), str_join((l_1_key, '=[', )), (undefined(name='calls') if l_1_calls is missing else l_1_calls), ']', 8, ',', _loop_vars=_loop_vars))
        yield '\n'
    l_1_key = l_1_hooks = l_1_calls = missing
    yield '        drain_timeout=settings.shutdown_drain_timeout,  # '
    yield str(t_3(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'drain_timeout')))
    yield ' in service.yaml\n        handle_signals=handle_signals,\n    )\n\n\ndef run() -> None:\n    """Run the service until SIGTERM/SIGINT; exit 0 after a complete drain, 3 (one\n    logged sentence) when a setting is refused, before anything connects."""\n    raise SystemExit(run_or_refuse(build_app, '
    yield str(t_8(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service')))
    yield '))\n'

blocks = {}
debug_info = '1=75&2=82&10=84&12=87&16=92&18=100&19=103&20=105&22=108&23=112&36=120&39=123&40=127&44=133&49=135&53=138&54=142&55=148&69=153&70=156&71=158&73=160&74=162&76=166&79=169&80=173&81=175&82=178&83=182&84=186&88=195&91=200&94=203&96=205&97=208&98=210&99=212&102=215&103=217&105=220&108=222&109=225&110=227&111=229&112=233&116=242&120=248&121=251&122=253&124=256&125=260&126=262&127=264&128=266&131=269&136=274&137=277&138=279&140=282&141=286&142=288&143=290&144=292&145=294&146=296&149=301&150=303&154=309&155=313&157=318&159=321&160=325&164=331&165=335&169=341&173=344&174=348&175=350&177=353&178=357&179=359&180=361&181=363&182=365&184=368&185=370&186=372&190=377&192=380&193=388&194=391&195=395&197=399&198=403&199=405&200=409&201=413&203=415&204=417&205=419&208=422&209=424&212=428&213=430&217=434&218=438&219=440&220=443&222=446&223=450&224=452&225=454&226=456&227=458&229=461&230=463&231=465&234=470&236=473&237=481&238=485&240=489&241=493&242=495&243=499&244=503&246=505&247=507&248=509&252=513&253=516&254=518&256=521&257=525&258=527&259=529&260=531&261=534&263=539&265=542&268=545&273=548&276=550&281=553&284=556&285=559&286=561&289=564&290=566&292=569&293=571&297=576&299=579&300=581&310=589&311=591&313=594&314=598&320=605&322=608&323=612&325=615&326=619&332=626&334=629&335=633&337=636&342=640&343=642&345=645&346=647&347=655&348=657&349=664&351=668&359=670'