from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/models.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    l_0_stub = resolve('stub')
    try:
        t_1 = environment.filters['doc']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'doc' found.")
    try:
        t_2 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    pass
    yield '"""Message models of the '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'service'))
    yield ' service (user-owned: add fields freely)."""\n\nfrom __future__ import annotations\n\nfrom pydantic import BaseModel\n'
    for (l_1_cls, l_1_what) in environment.getattr((undefined(name='stub') if l_0_stub is missing else l_0_stub), 'classes'):
        _loop_vars = {}
        pass
        yield '\n\nclass '
        yield str(l_1_cls)
        yield '(BaseModel):\n    """'
        yield str(t_1(str_join((t_2(environment.getitem(l_1_what, 0)), l_1_what[1:], ))))
        yield '."""\n'
    l_1_cls = l_1_what = missing

blocks = {}
debug_info = '1=26&6=28&9=32&10=34'