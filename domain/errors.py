"""Errors the domain raises. Each names what was wrong so an operator can act on it."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error raised by the pure model."""


class ValidationError(DomainError, ValueError):
    """A value broke an invariant. `field` names it (dotted path for nested values)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BusinessRuleError(DomainError):
    """A command is not allowed in the aggregate's current state. `code` is stable for logs."""

    code = "BUSINESS_RULE"


class InvalidOrderTransition(BusinessRuleError):
    code = "INVALID_ORDER_TRANSITION"

    def __init__(self, order_id: str, current: str, action: str) -> None:
        super().__init__(f"order {order_id}: cannot {action} an order that is {current}")
        self.current = current
        self.action = action


class AccountClosed(BusinessRuleError):
    code = "ACCOUNT_CLOSED"


class IdAlreadyLinked(BusinessRuleError):
    """An external id already belongs to another entity: linking it again would merge two records."""

    code = "ID_ALREADY_LINKED"

    def __init__(self, system: str, external_id: str, owner: str) -> None:
        super().__init__(f"{system} id {external_id!r} already belongs to {owner}")
        self.system = system
        self.external_id = external_id
        self.owner = owner


class UnknownPrice(BusinessRuleError):
    code = "UNKNOWN_PRICE"
