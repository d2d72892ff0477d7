from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'stubs/__main__.py.jinja'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_plan = resolve('plan')
    pass
    yield '"""Entry point: ``python -m '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'package'))
    yield '`` runs the service (user-owned)."""\n\nfrom __future__ import annotations\n\nimport logging\n\nfrom '
    yield str(environment.getattr((undefined(name='plan') if l_0_plan is missing else l_0_plan), 'package'))
    yield '._generated.app import run\n\nif __name__ == "__main__":\n    logging.basicConfig(\n        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"\n    )\n    run()\n'

blocks = {}
debug_info = '1=13&7=15'