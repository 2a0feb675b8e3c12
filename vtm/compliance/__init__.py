"""compliance"""
