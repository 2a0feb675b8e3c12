"""Placeholder values of what the kiosk asks and reads back: the bank's figures and the plug-in's values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vtm.dialog.plugins import plugin_for
from vtm.flows.machine import Flow

if TYPE_CHECKING:
    from vtm.dialog.context import TurnContext

__all__ = ["ask_values", "read_back"]


def ask_values(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    """Values for a collect state's question (figures such as {temporary_loss_days} come from the bank's settings)."""
    return {**ctx.services.bank_policy, **plugin_for(flow.name).ask_values(ctx, flow)}


def read_back(ctx: TurnContext, flow: Flow) -> dict[str, Any]:
    """Values for a read-back or an offer (masked, amounts in words)."""
    return {**ctx.services.bank_policy, **plugin_for(flow.name).read_back(ctx, flow)}
