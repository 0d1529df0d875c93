"""Helpers shared by the config files: big_vision-style `key=value,flag` config arguments."""

from __future__ import annotations

import ml_collections


def parse_arg(arg: str | None, config_file: str, **defaults) -> ml_collections.ConfigDict:
  """Parses 'encoder=resnet50,size=256,runlocal' into the keys of `defaults`, typed like the defaults.

  A bare name sets a boolean default to True. Unknown keys and values that do not convert raise a
  ValueError naming `config_file` and the keys it takes.
  """
  parsed = ml_collections.ConfigDict(defaults)
  for item in filter(None, (arg or '').split(',')):
    key, has_value, value = item.partition('=')
    if key not in defaults:
      raise ValueError(f'{config_file} takes arguments {sorted(defaults)}; got {key!r} in {arg!r}')
    default = defaults[key]
    if not has_value:
      if not isinstance(default, bool):
        raise ValueError(f'{config_file}: argument {key!r} needs a value ({key}=...)')
      parsed[key] = True
    elif isinstance(default, bool):
      if value.lower() not in ('true', 'false', '1', '0'):
        raise ValueError(f'{config_file}: argument {key!r} is a boolean, got {value!r}')
      parsed[key] = value.lower() in ('true', '1')
    else:
      try:
        parsed[key] = type(default)(value)
      except ValueError:
        raise ValueError(f'{config_file}: argument {key!r} must be {type(default).__name__}, '
                         f'got {value!r}') from None
  return parsed
