"""Policy files shipped with stopbox (package data: ``stopbox.policies``)."""
